// Internal helpers shared by the crypto sources. Not installed, not part of the API.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "pisigner/bytes.hpp"
#include "pisigner/crypto/curve.hpp"
#include "pisigner/crypto/signing.hpp"
#include "pisigner/result.hpp"

namespace pisigner::crypto::detail {

using Scalar = std::array<std::uint8_t, 32>;

// Initialises libsodium once; safe to call from any thread, any number of times.
void ensure_sodium();
// Reports an internal library failure (only out-of-memory in practice) and aborts:
// functions whose contract cannot fail have no error to return.
[[noreturn]] void fatal(const char* what);

// ---- scalars mod the group order n (secp256k1, P-256), big-endian, 32 bytes ----
// True iff `s` is 32 bytes and 0 < s < n.
bool scalar_is_valid(Curve curve, ByteView s);
// True iff s > n/2 (the "high S" half).
bool scalar_is_high(Curve curve, const std::uint8_t* s);
// s := n - s. Precondition: 0 < s < n.
void scalar_negate(Curve curve, std::uint8_t* s);
// out := a + b mod n. Fails (returns false) if a >= n or the sum is zero (BIP32's invalid-key cases).
// Precondition: b < n.
bool scalar_add_mod(Curve curve, const Scalar& a, const Scalar& b, Scalar& out);
// s := s mod n for any 256-bit s (one conditional subtraction suffices: 2^256 < 2n).
void scalar_reduce(Curve curve, Scalar& s);
// 0 < r < n, 0 < s <= n/2 for the 64-byte r||s `sig`.
bool compact_is_canonical(Curve curve, ByteView sig);

// ---- secp256k1 (libsecp256k1) ----
// Compressed 33-byte public key of a valid scalar.
Bytes secp256k1_public_key(const Scalar& secret);
Signature64 secp256k1_sign(const Scalar& secret, const Digest32& digest);
bool secp256k1_verify(ByteView public_key, const Digest32& digest, ByteView signature);
Result<Bytes, CryptoError> secp256k1_compress(ByteView uncompressed);

// ---- P-256 (OpenSSL 3 arithmetic, RFC 6979 nonces) ----
// Compressed 33-byte public key of a valid scalar.
Bytes p256_public_key(const Scalar& secret);
// Deterministic: the same (secret, digest) always gives the same low-S signature.
Signature64 p256_sign(const Scalar& secret, const Digest32& digest);
bool p256_verify(ByteView public_key, const Digest32& digest, ByteView signature);
Result<Bytes, CryptoError> p256_compress(ByteView uncompressed);

}  // namespace pisigner::crypto::detail
