#include "pisigner/crypto/hash.hpp"

#include <sodium.h>

#include "internal.hpp"

namespace pisigner::crypto {

namespace {
void blake2b_into(ByteView data, std::uint8_t* out, std::size_t out_len) {
  detail::ensure_sodium();
  // libsodium's BYTES_MIN (16) is advice; the implementation accepts BLAKE2b's full 1..64 range.
  if (out_len < 1 || out_len > crypto_generichash_BYTES_MAX ||
      crypto_generichash(out, out_len, data.data(), data.size(), nullptr, 0) != 0)
    detail::fatal("blake2b: output length outside 1..64");
}
}  // namespace

Bytes blake2b(ByteView data, std::size_t out_len) {
  Bytes out(out_len);
  blake2b_into(data, out.data(), out_len);
  return out;
}

Digest32 blake2b_256(ByteView data) {
  Digest32 out;
  blake2b_into(data, out.data(), out.size());
  return out;
}

std::array<std::uint8_t, 20> blake2b_160(ByteView data) {
  std::array<std::uint8_t, 20> out;
  blake2b_into(data, out.data(), out.size());
  return out;
}

Digest32 sha256(ByteView data) {
  detail::ensure_sodium();
  Digest32 out;
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

Digest32 sha256d(ByteView data) {
  Digest32 once = sha256(data);
  return sha256(once);
}

std::array<std::uint8_t, 64> hmac_sha512(ByteView key, ByteView data) {
  detail::ensure_sodium();
  // The streaming API takes keys of any length (the one-shot crypto_auth wants exactly 32 bytes).
  crypto_auth_hmacsha512_state st;
  std::array<std::uint8_t, 64> out;
  crypto_auth_hmacsha512_init(&st, key.data(), key.size());
  crypto_auth_hmacsha512_update(&st, data.data(), data.size());
  crypto_auth_hmacsha512_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
  return out;
}

Digest32 hmac_sha256(ByteView key, ByteView data) {
  detail::ensure_sodium();
  crypto_auth_hmacsha256_state st;
  Digest32 out;
  crypto_auth_hmacsha256_init(&st, key.data(), key.size());
  crypto_auth_hmacsha256_update(&st, data.data(), data.size());
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
  return out;
}

}  // namespace pisigner::crypto
