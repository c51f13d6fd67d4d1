#include "key_text.hpp"

namespace pisigner::hwm::detail {

KeyText to_text(const HwmKey& key) {
  return KeyText{std::string(tezos::kind_name(key.kind)), key.chain.to_b58(), key.pkh.to_b58()};
}

Result<HwmKey, std::string> from_text(std::string_view kind, std::string_view chain, std::string_view pkh) {
  HwmKey key;
  auto k = tezos::parse_kind(kind);
  if (!k) return fail("unknown kind \"" + std::string(kind) + "\"");
  key.kind = *k;
  auto c = tezos::ChainId::parse(chain);
  if (!c) return fail("bad chain id \"" + std::string(chain) + "\": " + c.error().message);
  key.chain = *c;
  auto p = tezos::PublicKeyHash::parse(pkh);
  if (!p) return fail("bad public key hash \"" + std::string(pkh) + "\": " + p.error().message);
  key.pkh = *p;
  return key;
}

std::string describe(const HwmKey& key, const Record& record) {
  std::string out = std::string(tezos::kind_name(key.kind)) + " " + key.chain.to_b58() + " " + key.pkh.to_b58() +
                    " level " + std::to_string(record.level);
  if (record.round) out += " round " + std::to_string(*record.round);
  return out;
}

}  // namespace pisigner::hwm::detail
