#include "pisigner/hwm/rules.hpp"

#include <string>

namespace pisigner::hwm {
namespace {

Decision refuse(std::string message) {
  return Decision{Decision::Action::Refuse, {}, std::move(message)};
}

// Same (level, round) as the stored record: only the byte-identical payload may get a signature.
// Without a stored signature the record was made durable but its signature never was (crash between
// the two writes, or an import). Signing the same bytes again is safe only if the key gives the same
// signature again: a second, different signature of a block is a second block hash (double baking).
Decision same_slot(const Record& stored, const Request& request, std::string different_data_message,
                   const std::string& name) {
  if (stored.hash != request.hash) return refuse(std::move(different_data_message));
  if (stored.signature) return Decision{Decision::Action::ReturnCached, *stored.signature, {}};
  if (!request.deterministic) {
    return refuse(name + " level " + std::to_string(request.level) +
                  " already signed and its signature was lost; this key's signatures are not deterministic");
  }
  return Decision{Decision::Action::Sign, {}, {}};
}

// An advance to a higher level, unless it jumps further than the operator allows.
Decision advance(const std::string& name, const Record& stored, const Request& request, const RuleOptions& options) {
  if (options.max_level_jump &&
      std::int64_t{request.level} - std::int64_t{stored.level} > std::int64_t{*options.max_level_jump}) {
    return refuse(name + " level " + std::to_string(request.level) + " is more than " +
                  std::to_string(*options.max_level_jump) + " levels above high watermark " +
                  std::to_string(stored.level) + " (policy.max_level_jump)");
  }
  return Decision{Decision::Action::Sign, {}, {}};
}

}  // namespace

Decision decide(tezos::Kind kind, const std::optional<Record>& stored, const Request& request,
                const RuleOptions& options) {
  if (!stored) return Decision{Decision::Action::Sign, {}, {}};
  const Record& s = *stored;
  const std::string name(tezos::kind_name(kind));
  const std::string L = std::to_string(request.level);
  const std::string W = std::to_string(s.level);

  // A record without a round (Emmy, or an import/operator value given without one) compares levels
  // only, as octez does: any payload at that level collides with it whatever its round.
  if (!s.round) {
    if (request.level < s.level) return refuse(name + " level " + L + " not above high watermark " + W);
    if (request.level > s.level) return advance(name, s, request, options);
    return same_slot(s, request, name + " level " + L + " already signed with different data", name);
  }

  const std::int32_t round = request.round.value_or(0);
  const std::string R = std::to_string(round);
  if (request.level < s.level) return refuse(name + " level " + L + " below high watermark " + W);
  if (request.level > s.level) return advance(name, s, request, options);
  if (round < *s.round) {
    return refuse(name + " level " + L + " and round " + R + " not above high watermark (" + W + "," +
                  std::to_string(*s.round) + ")");
  }
  if (round > *s.round) return Decision{Decision::Action::Sign, {}, {}};
  return same_slot(s, request, name + " level " + L + " and round " + R + " already signed with different data",
                   name);
}

}  // namespace pisigner::hwm
