#include "pisigner/hwm/rules.hpp"

#include <string>

namespace pisigner::hwm {
namespace {

Decision refuse(std::string message) {
  return Decision{Decision::Action::Refuse, {}, std::move(message)};
}

// Same (level, round) as the stored record: only the byte-identical payload may get a signature.
// Without a stored signature the record was made durable but its signature never was (crash between
// the two writes, or an import): signing the same bytes again yields no second payload, so it is safe.
Decision same_slot(const Record& stored, const Request& request, std::string different_data_message) {
  if (stored.hash != request.hash) return refuse(std::move(different_data_message));
  if (stored.signature) return Decision{Decision::Action::ReturnCached, *stored.signature, {}};
  return Decision{Decision::Action::Sign, {}, {}};
}

}  // namespace

Decision decide(tezos::Kind kind, const std::optional<Record>& stored, const Request& request) {
  if (!stored) return Decision{Decision::Action::Sign, {}, {}};
  const Record& s = *stored;
  const std::string name(tezos::kind_name(kind));
  const std::string L = std::to_string(request.level);
  const std::string W = std::to_string(s.level);

  // A record without a round (Emmy, or an import/operator value given without one) compares levels
  // only, as octez does: any payload at that level collides with it whatever its round.
  if (!s.round) {
    if (request.level < s.level) return refuse(name + " level " + L + " not above high watermark " + W);
    if (request.level > s.level) return Decision{Decision::Action::Sign, {}, {}};
    return same_slot(s, request, name + " level " + L + " already signed with different data");
  }

  const std::int32_t round = request.round.value_or(0);
  const std::string R = std::to_string(round);
  if (request.level < s.level) return refuse(name + " level " + L + " below high watermark " + W);
  if (request.level > s.level) return Decision{Decision::Action::Sign, {}, {}};
  if (round < *s.round) {
    return refuse(name + " level " + L + " and round " + R + " not above high watermark (" + W + "," +
                  std::to_string(*s.round) + ")");
  }
  if (round > *s.round) return Decision{Decision::Action::Sign, {}, {}};
  return same_slot(s, request, name + " level " + L + " and round " + R + " already signed with different data");
}

}  // namespace pisigner::hwm
