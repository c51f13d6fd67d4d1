#include "ecdsa_device.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include <memory>

namespace pisigner::ledger::emulator {

namespace {

struct GroupFree { void operator()(EC_GROUP* g) const { EC_GROUP_free(g); } };
struct PointFree { void operator()(EC_POINT* p) const { EC_POINT_free(p); } };
struct BnFree { void operator()(BIGNUM* b) const { BN_free(b); } };
struct CtxFree { void operator()(BN_CTX* c) const { BN_CTX_free(c); } };
using GroupPtr = std::unique_ptr<EC_GROUP, GroupFree>;
using PointPtr = std::unique_ptr<EC_POINT, PointFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using CtxPtr = std::unique_ptr<BN_CTX, CtxFree>;

GroupPtr group_for(crypto::Curve curve) {
  int nid = curve == crypto::Curve::Secp256k1 ? NID_secp256k1 : NID_X9_62_prime256v1;
  return GroupPtr(EC_GROUP_new_by_curve_name(nid));
}

BnPtr bn(ByteView b) { return BnPtr(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr)); }

// Minimal DER INTEGER of a 32-byte unsigned big-endian value.
void append_integer(Bytes& out, ByteView v) {
  std::size_t i = 0;
  while (i + 1 < v.size() && v[i] == 0) ++i;
  const bool pad = (v[i] & 0x80) != 0;
  out.push_back(0x02);
  out.push_back(static_cast<std::uint8_t>(v.size() - i + (pad ? 1 : 0)));
  if (pad) out.push_back(0x00);
  out.insert(out.end(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
}

}  // namespace

Result<Bytes, Error> uncompress_point(crypto::Curve curve, ByteView compressed) {
  GroupPtr g = group_for(curve);
  PointPtr p(g ? EC_POINT_new(g.get()) : nullptr);
  CtxPtr ctx(BN_CTX_new());
  if (!p || !ctx || EC_POINT_oct2point(g.get(), p.get(), compressed.data(), compressed.size(), ctx.get()) != 1)
    return fail(Error{"invalid EC point"});
  Bytes out(65);
  if (EC_POINT_point2oct(g.get(), p.get(), POINT_CONVERSION_UNCOMPRESSED, out.data(), out.size(), ctx.get()) != 65)
    return fail(Error{"cannot encode EC point"});
  return out;
}

Result<Bytes, Error> device_der(crypto::Curve curve, ByteView compressed_pub, const crypto::Digest32& hash,
                                const crypto::Signature64& rs) {
  const ByteView r_bytes(rs.data(), 32);
  const ByteView s_bytes(rs.data() + 32, 32);
  GroupPtr g = group_for(curve);
  CtxPtr ctx(BN_CTX_new());
  if (!g || !ctx) return fail(Error{"OpenSSL EC setup failed"});
  PointPtr q(EC_POINT_new(g.get()));
  if (!q || EC_POINT_oct2point(g.get(), q.get(), compressed_pub.data(), compressed_pub.size(), ctx.get()) != 1)
    return fail(Error{"invalid public key"});

  // Q = r^-1 (s R - e G) holds for exactly one of the two points with x = r.
  BnPtr r = bn(r_bytes), s = bn(s_bytes), e = bn(hash), order(BN_new()), rinv(BN_new()), u1(BN_new()), u2(BN_new());
  if (!r || !s || !e || !order || !rinv || !u1 || !u2 || EC_GROUP_get_order(g.get(), order.get(), ctx.get()) != 1 ||
      !BN_mod_inverse(rinv.get(), r.get(), order.get(), ctx.get()) ||
      BN_mod_mul(u2.get(), s.get(), rinv.get(), order.get(), ctx.get()) != 1 ||
      BN_mod_mul(u1.get(), e.get(), rinv.get(), order.get(), ctx.get()) != 1 ||
      BN_mod_sub(u1.get(), order.get(), u1.get(), order.get(), ctx.get()) != 1)  // u1 = -e/r
    return fail(Error{"OpenSSL bignum failure"});
  int parity = -1;
  for (std::uint8_t odd = 0; odd < 2 && parity < 0; ++odd) {
    Bytes rpoint{static_cast<std::uint8_t>(0x02 + odd)};
    rpoint.insert(rpoint.end(), r_bytes.begin(), r_bytes.end());
    PointPtr R(EC_POINT_new(g.get())), cand(EC_POINT_new(g.get()));
    if (!R || !cand || EC_POINT_oct2point(g.get(), R.get(), rpoint.data(), rpoint.size(), ctx.get()) != 1) continue;
    if (EC_POINT_mul(g.get(), cand.get(), u1.get(), R.get(), u2.get(), ctx.get()) != 1) continue;
    if (EC_POINT_cmp(g.get(), cand.get(), q.get(), ctx.get()) == 0) parity = odd;
  }
  if (parity < 0) return fail(Error{"signature does not match the public key"});

  Bytes body;
  append_integer(body, r_bytes);
  append_integer(body, s_bytes);
  Bytes out{static_cast<std::uint8_t>(0x30 | parity), static_cast<std::uint8_t>(body.size())};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

}  // namespace pisigner::ledger::emulator
