// HMAC-SHA256 from libsodium: one HMAC for both ECDSA curves, outside OpenSSL's deprecated API.
#include "rfc6979.hpp"

#include <sodium.h>

#include <initializer_list>

namespace pisigner::crypto::detail {

namespace {

using Block = std::array<std::uint8_t, 32>;

// HMAC_key(parts...) into `out` (which may alias one of the parts: the result is written last).
void hmac(const Block& key, std::initializer_list<ByteView> parts, Block& out) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key.data(), key.size());
  for (ByteView p : parts) crypto_auth_hmacsha256_update(&st, p.data(), p.size());
  Block tmp;
  crypto_auth_hmacsha256_final(&st, tmp.data());
  out = tmp;
  sodium_memzero(tmp.data(), tmp.size());
  sodium_memzero(&st, sizeof st);
}

}  // namespace

Rfc6979::Rfc6979(Curve curve, const Scalar& x, const Digest32& h1) : curve_(curve) {
  ensure_sodium();
  // bits2octets(h1): int(h1) mod n; h1 < 2^256 < 2n, so at most one subtraction.
  Scalar h = h1;
  scalar_reduce(curve_, h);
  const std::uint8_t zero = 0x00, one = 0x01;
  v_.fill(0x01);  // step b
  k_.fill(0x00);  // step c
  hmac(k_, {v_, ByteView(&zero, 1), x, h}, k_);  // step d
  hmac(k_, {v_}, v_);                             // step e
  hmac(k_, {v_, ByteView(&one, 1), x, h}, k_);   // step f
  hmac(k_, {v_}, v_);                             // step g
  sodium_memzero(h.data(), h.size());
}

Rfc6979::~Rfc6979() {
  sodium_memzero(k_.data(), k_.size());
  sodium_memzero(v_.data(), v_.size());
}

Scalar Rfc6979::next() {
  const std::uint8_t zero = 0x00;
  for (;;) {
    if (!first_) {  // step h.3: the previous candidate was rejected
      hmac(k_, {v_, ByteView(&zero, 1)}, k_);
      hmac(k_, {v_}, v_);
    }
    first_ = false;
    hmac(k_, {v_}, v_);  // step h.2: tlen = qlen = 256 bits, one block
    if (scalar_is_valid(curve_, v_)) return v_;
  }
}

}  // namespace pisigner::crypto::detail
