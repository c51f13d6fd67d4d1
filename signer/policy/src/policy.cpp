#include "pisigner/policy/policy.hpp"

#include <cstdio>

namespace pisigner::policy {

Result<std::optional<tezos::Watermark>, PolicyError> Policy::check(ByteView payload, crypto::Curve signer_curve,
                                                                   bool allow_mainnet) const {
  if (payload.empty()) return fail(PolicyError{PolicyError::Code::Malformed, "empty payload"});
  const std::uint8_t magic = payload[0];
  if (!config_.magic_bytes.count(magic)) {
    char msg[48];
    std::snprintf(msg, sizeof msg, "magic byte 0x%02X not allowed", magic);
    return fail(PolicyError{PolicyError::Code::MagicByte, msg});
  }
  auto wm = tezos::extract_watermark(payload, signer_curve);
  if (!wm) return fail(PolicyError{PolicyError::Code::Malformed, wm.error().message});
  if (wm->has_value()) {
    const auto& chain = (*wm)->chain;
    if (!config_.chains.empty() && !config_.chains.count(chain)) {
      return fail(PolicyError{PolicyError::Code::Chain, "chain " + chain.to_b58() + " not allowed"});
    }
    if (!allow_mainnet && chain == tezos::kMainnetChainId) {
      return fail(PolicyError{PolicyError::Code::Mainnet,
                              "soft key refuses mainnet (" + chain.to_b58() + "); set allow_mainnet = true for this key"});
    }
  }
  return std::move(wm).value();
}

}  // namespace pisigner::policy
