// What may be signed: magic-byte allow-list, chain allow-list, the soft-key mainnet rule.
// Reads only the magic byte and the watermark fields (never decodes operations).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "pisigner/bytes.hpp"
#include "pisigner/result.hpp"
#include "pisigner/tezos/watermark.hpp"

namespace pisigner::policy {

struct PolicyConfig {
  std::set<std::uint8_t> magic_bytes{0x11, 0x12, 0x13};  // baking only
  std::set<tezos::ChainId> chains;                        // empty: any chain
};

struct PolicyError {
  enum class Code { MagicByte, Chain, Mainnet, Malformed };
  Code code = Code::Malformed;
  std::string message;  // octez wording where octez has one ("magic byte 0x04 not allowed")
};

// Immutable; thread-safe.
class Policy {
 public:
  explicit Policy(PolicyConfig config) : config_(std::move(config)) {}

  // Returns the watermark (nullopt for kinds without one) when the payload may be signed by a key of
  // `signer_curve`; `allow_mainnet` is false for soft keys not explicitly allowed on mainnet.
  Result<std::optional<tezos::Watermark>, PolicyError> check(ByteView payload, crypto::Curve signer_curve,
                                                             bool allow_mainnet) const;
  const PolicyConfig& config() const { return config_; }

 private:
  PolicyConfig config_;
};

}  // namespace pisigner::policy
