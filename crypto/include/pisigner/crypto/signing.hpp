// Raw signing keys for Ed25519 (libsodium), secp256k1 (libsecp256k1) and P-256 (OpenSSL 3).
// Tezos signs the 32-byte BLAKE2b-256 digest of a payload; this layer signs that digest.
// ECDSA signatures are 64-byte r||s with low S.
// Every signature is deterministic (RFC 8032, RFC 6979). BLS12-381 is not available here (no Debian library).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "pisigner/bytes.hpp"
#include "pisigner/crypto/curve.hpp"
#include "pisigner/crypto/hash.hpp"
#include "pisigner/result.hpp"

namespace pisigner::crypto {

using Signature64 = std::array<std::uint8_t, 64>;

struct CryptoError {
  std::string message;
};

// A secret key. Move-only; the secret bytes are wiped on destruction.
// sign() is thread-safe (const, no shared mutable state).
class SecretKey {
 public:
  // `secret` is the 32-byte Ed25519 seed or the 32-byte ECDSA scalar.
  // Fails for BLS, a wrong length, or a scalar that is zero or >= the curve order.
  static Result<SecretKey, CryptoError> from_bytes(Curve curve, ByteView secret);
  // A fresh random key (libsodium randombytes / secp256k1 range check).
  static SecretKey generate(Curve curve);

  SecretKey(SecretKey&&) noexcept;
  SecretKey& operator=(SecretKey&&) noexcept;
  ~SecretKey();

  Curve curve() const;
  // 32 bytes (Ed25519) or 33 bytes compressed SEC1 (secp256k1, P-256).
  const Bytes& public_key() const;
  // The 32 secret bytes, for re-encoding (e.g. pisignerctl key generation). Handle with care.
  ByteView secret_bytes() const;
  // Ed25519: RFC 8032 signature of the 32 digest bytes as the message.
  // ECDSA: signature of the digest, normalised to low S, as r||s, with an RFC 6979 (HMAC-SHA256)
  // nonce, so the same digest always gives the same signature (see signs_deterministically).
  // Cannot fail; an internal library failure (out of memory) aborts the process.
  Signature64 sign_digest(const Digest32& digest) const;

 private:
  struct Impl;
  explicit SecretKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True iff SecretKey::sign_digest() on `curve` returns the same bytes for the same key and digest
// (Ed25519 by construction, ECDSA by RFC 6979). False for curves this layer cannot sign with.
bool signs_deterministically(Curve curve);

// Verifies a 64-byte signature over a 32-byte digest. `public_key` as returned by
// SecretKey::public_key(); for ECDSA, high-S signatures are rejected.
bool verify_digest(Curve curve, ByteView public_key, const Digest32& digest, ByteView signature);

// Compresses an uncompressed SEC1 point (65 bytes, 0x04||X||Y) for secp256k1/P-256.
Result<Bytes, CryptoError> compress_point(Curve curve, ByteView uncompressed);

// Converts a DER-encoded ECDSA signature to 64-byte r||s with low S.
// Takes a Ledger reply as is: a first byte of 0x31 (R parity in bit 0) and zero-padded
// INTEGERs are accepted. Fails on anything else malformed or on r, s outside 1..n-1.
Result<Signature64, CryptoError> der_to_compact(Curve curve, ByteView der);

}  // namespace pisigner::crypto
