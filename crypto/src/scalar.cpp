// 256-bit big-endian arithmetic modulo the ECDSA group orders. Small and branch-light on
// purpose: it serves BIP32 derivation and low-S checks for both curves with one code path.
#include <cstring>

#include "internal.hpp"

namespace pisigner::crypto::detail {

namespace {

constexpr Scalar kSecp256k1Order = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41};
constexpr Scalar kP256Order = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};

constexpr Scalar half(const Scalar& n) {
  Scalar h{};
  unsigned carry = 0;
  for (std::size_t i = 0; i < n.size(); ++i) {
    h[i] = static_cast<std::uint8_t>((carry << 7) | (n[i] >> 1));
    carry = n[i] & 1u;
  }
  return h;
}
constexpr Scalar kSecp256k1Half = half(kSecp256k1Order);
constexpr Scalar kP256Half = half(kP256Order);

const Scalar& order(Curve c) {
  if (c == Curve::Secp256k1) return kSecp256k1Order;
  if (c == Curve::P256) return kP256Order;
  fatal("scalar arithmetic on a non-ECDSA curve");
}

const Scalar& half_order(Curve c) { return c == Curve::Secp256k1 ? kSecp256k1Half : kP256Half; }

// -1, 0, 1 like memcmp, for equal-length big-endian numbers.
int compare(const std::uint8_t* a, const std::uint8_t* b) { return std::memcmp(a, b, 32); }

bool is_zero(const std::uint8_t* a) {
  std::uint8_t acc = 0;
  for (std::size_t i = 0; i < 32; ++i) acc |= a[i];
  return acc == 0;
}

// out := a - b, returns the borrow.
unsigned sub(const std::uint8_t* a, const std::uint8_t* b, std::uint8_t* out) {
  int borrow = 0;
  for (std::size_t i = 32; i-- > 0;) {
    int d = int{a[i]} - int{b[i]} - borrow;
    borrow = d < 0 ? 1 : 0;
    out[i] = static_cast<std::uint8_t>(d + (borrow << 8));
  }
  return static_cast<unsigned>(borrow);
}

}  // namespace

bool scalar_is_valid(Curve curve, ByteView s) {
  return s.size() == 32 && !is_zero(s.data()) && compare(s.data(), order(curve).data()) < 0;
}

bool scalar_is_high(Curve curve, const std::uint8_t* s) {
  return compare(s, half_order(curve).data()) > 0;
}

void scalar_negate(Curve curve, std::uint8_t* s) {
  std::uint8_t tmp[32];
  sub(order(curve).data(), s, tmp);
  std::memcpy(s, tmp, 32);
}

bool scalar_add_mod(Curve curve, const Scalar& a, const Scalar& b, Scalar& out) {
  const Scalar& n = order(curve);
  if (compare(a.data(), n.data()) >= 0) return false;
  unsigned carry = 0;
  Scalar sum;
  for (std::size_t i = 32; i-- > 0;) {
    unsigned t = unsigned{a[i]} + unsigned{b[i]} + carry;
    sum[i] = static_cast<std::uint8_t>(t);
    carry = t >> 8;
  }
  // a, b < n, so a + b < 2n: one conditional subtraction reduces it.
  if (carry || compare(sum.data(), n.data()) >= 0) sub(sum.data(), n.data(), sum.data());
  if (is_zero(sum.data())) return false;
  out = sum;
  return true;
}

void scalar_reduce(Curve curve, Scalar& s) {
  const Scalar& n = order(curve);
  if (compare(s.data(), n.data()) >= 0) sub(s.data(), n.data(), s.data());
}

bool compact_is_canonical(Curve curve, ByteView sig) {
  if (sig.size() != 64) return false;
  return scalar_is_valid(curve, sig.first(32)) && scalar_is_valid(curve, sig.subspan(32)) &&
         !scalar_is_high(curve, sig.data() + 32);
}

}  // namespace pisigner::crypto::detail
