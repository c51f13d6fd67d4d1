// An in-process secret key for testnets and demos. Refuses mainnet unless the config allows it
// (enforced by the policy step, which reads SoftKey's allow_mainnet from the key registry).
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "pisigner/crypto/signing.hpp"
#include "pisigner/keys/key.hpp"

namespace pisigner::keys {

class SoftKey final : public Key {
 public:
  // `uri`: "unencrypted:edsk..." or "encrypted:edesk..." (then `passphrase` is required).
  static Result<std::unique_ptr<SoftKey>, KeyError> load(std::string_view uri,
                                                          std::optional<std::string_view> passphrase);
  explicit SoftKey(crypto::SecretKey secret);

  const tezos::PublicKeyHash& pkh() const override { return pkh_; }
  std::optional<tezos::PublicKey> public_key() const override { return pk_; }
  Result<tezos::Signature, KeyError> sign(ByteView payload, const crypto::Digest32& digest) override;
  std::string backend() const override { return "soft"; }
  bool deterministic() const override { return crypto::signs_deterministically(secret_.curve()); }

 private:
  crypto::SecretKey secret_;
  tezos::PublicKey pk_;
  tezos::PublicKeyHash pkh_;
};

}  // namespace pisigner::keys
