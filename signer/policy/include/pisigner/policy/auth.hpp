// octez request authentication: the client signs 0x04 || 0x01 || pkh(21) || payload with an
// authorized key and sends the signature in `authentication=` (reference/octez-signer.md §3).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pisigner/bytes.hpp"
#include "pisigner/result.hpp"
#include "pisigner/tezos/keys.hpp"

namespace pisigner::policy {

struct AuthError {
  enum class Code { Missing, Invalid, Config };
  Code code = Code::Invalid;
  std::string message;  // "missing authentication signature field" / "invalid authentication signature"
};

// Immutable; thread-safe.
class Authenticator {
 public:
  // `authorized_keys`: base58 public keys (edpk/sppk/p2pk). Fails naming the first bad entry.
  static Result<Authenticator, AuthError> build(bool required, const std::vector<std::string>& authorized_keys);
  // The same from keys already parsed (the daemon's typed config).
  static Result<Authenticator, AuthError> from_keys(bool required, std::vector<tezos::PublicKey> authorized_keys);
  Authenticator() = default;

  bool required() const { return required_; }
  std::vector<tezos::PublicKeyHash> authorized_pkhs() const;
  // Ok when not required; otherwise `signature_b58` must verify under one authorized key.
  Result<void, AuthError> check(const tezos::PublicKeyHash& signer, ByteView payload,
                                std::optional<std::string_view> signature_b58) const;

  // The bytes an authorized key signs (exposed for clients and tests).
  static Bytes signed_bytes(const tezos::PublicKeyHash& signer, ByteView payload);

 private:
  bool required_ = false;
  std::vector<tezos::PublicKey> keys_;
};

}  // namespace pisigner::policy
