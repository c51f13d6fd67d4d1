// DER ECDSA signatures -> 64-byte r||s. Parsed by hand because a Ledger's replies are not
// strict DER: the first byte carries the R parity in bit 0 (0x31) and integers may be padded.
#include <cstring>

#include "internal.hpp"

namespace pisigner::crypto {

namespace {

// Reads `02 len bytes` at `pos`, strips leading zero bytes, and right-aligns the value into 32 bytes.
bool read_integer(ByteView der, std::size_t& pos, std::uint8_t* out32) {
  if (pos + 2 > der.size() || der[pos] != 0x02) return false;
  std::size_t len = der[pos + 1];
  pos += 2;
  if (len == 0 || len > 0x7f || pos + len > der.size()) return false;
  ByteView v = der.subspan(pos, len);
  pos += len;
  if (v[0] & 0x80) return false;  // negative
  while (!v.empty() && v[0] == 0) v = v.subspan(1);
  if (v.size() > 32) return false;
  std::memset(out32, 0, 32);
  std::memcpy(out32 + (32 - v.size()), v.data(), v.size());
  return true;
}

}  // namespace

Result<Signature64, CryptoError> der_to_compact(Curve curve, ByteView der) {
  if (curve != Curve::Secp256k1 && curve != Curve::P256)
    return fail(CryptoError{"der_to_compact: not an ECDSA curve"});
  // Short-form lengths only: an ECDSA signature over a 256-bit group is at most 72 bytes.
  if (der.size() < 8 || (der[0] & 0xfe) != 0x30 || der[1] != der.size() - 2)
    return fail(CryptoError{"der_to_compact: not a DER SEQUENCE of the right length"});
  Signature64 sig;
  std::size_t pos = 2;
  if (!read_integer(der, pos, sig.data()) || !read_integer(der, pos, sig.data() + 32) || pos != der.size())
    return fail(CryptoError{"der_to_compact: malformed INTEGER"});
  if (!detail::scalar_is_valid(curve, ByteView(sig).first(32)) ||
      !detail::scalar_is_valid(curve, ByteView(sig).subspan(32)))
    return fail(CryptoError{"der_to_compact: r or s out of range"});
  if (detail::scalar_is_high(curve, sig.data() + 32)) detail::scalar_negate(curve, sig.data() + 32);
  return sig;
}

}  // namespace pisigner::crypto
