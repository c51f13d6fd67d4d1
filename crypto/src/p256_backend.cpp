// P-256 with OpenSSL 3. Signing does its own ECDSA over EC_POINT/BIGNUM (neither deprecated in 3.0)
// because OpenSSL 3.0's signers draw a random nonce, and a re-sign of the same bytes must give the
// same signature (RFC 6979, as the Ledger app signs); verification goes through EVP.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <sodium.h>

#include "internal.hpp"
#include "rfc6979.hpp"

namespace pisigner::crypto::detail {

namespace {

struct BnCtxDeleter {
  void operator()(BN_CTX* p) const noexcept { BN_CTX_free(p); }
};
struct BnClearDeleter {
  void operator()(BIGNUM* p) const noexcept { BN_clear_free(p); }
};
struct PointDeleter {
  void operator()(EC_POINT* p) const noexcept { EC_POINT_free(p); }
};
struct GroupDeleter {
  void operator()(EC_GROUP* p) const noexcept { EC_GROUP_free(p); }
};
struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
struct ParamBldDeleter {
  void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); }
};
struct ParamDeleter {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};
using BnCtxPtr = std::unique_ptr<BN_CTX, BnCtxDeleter>;
using BnPtr = std::unique_ptr<BIGNUM, BnClearDeleter>;
using PointPtr = std::unique_ptr<EC_POINT, PointDeleter>;
using GroupPtr = std::unique_ptr<EC_GROUP, GroupDeleter>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, ParamDeleter>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter>;

constexpr const char* kGroupName = "prime256v1";

// The group is immutable once built, so one instance serves all threads.
const EC_GROUP* group() {
  static const GroupPtr g(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  if (!g) fatal("EC_GROUP_new_by_curve_name(P-256) failed");
  return g.get();
}

Bytes point_to_bytes(const EC_POINT* p, point_conversion_form_t form) {
  Bytes out(form == POINT_CONVERSION_COMPRESSED ? 33 : 65);
  if (EC_POINT_point2oct(group(), p, form, out.data(), out.size(), nullptr) != out.size())
    fatal("EC_POINT_point2oct failed");
  return out;
}

// Public point of a valid scalar.
PointPtr public_point(const Scalar& secret) {
  BnPtr priv(BN_bin2bn(secret.data(), static_cast<int>(secret.size()), nullptr));
  PointPtr pub(EC_POINT_new(group()));
  BnCtxPtr bn(BN_CTX_new());
  if (!priv || !pub || !bn || !EC_POINT_mul(group(), pub.get(), priv.get(), nullptr, nullptr, bn.get()))
    fatal("P-256 public key computation failed");
  return pub;
}

// EVP public key from an encoded point (compressed or not); null if it is not on the curve.
EvpPkeyPtr make_pkey(ByteView pub) {
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld) fatal("OSSL_PARAM_BLD_new failed");
  if (!OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, kGroupName, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size()))
    fatal("OSSL_PARAM_BLD push failed");
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) fatal("EVP_PKEY_fromdata_init failed");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0) return nullptr;
  return EvpPkeyPtr(raw);
}

}  // namespace

Bytes p256_public_key(const Scalar& secret) {
  return point_to_bytes(public_point(secret).get(), POINT_CONVERSION_COMPRESSED);
}

Signature64 p256_sign(const Scalar& secret, const Digest32& digest) {
  const EC_GROUP* g = group();
  BnCtxPtr ctx(BN_CTX_secure_new());
  if (!ctx) fatal("BN_CTX_secure_new failed");
  const BIGNUM* n = EC_GROUP_get0_order(g);
  // Secrets live in secure heap BIGNUMs flagged constant-time (OpenSSL then takes its
  // fixed-window, no-branch paths for them).
  auto secret_bn = [](const std::uint8_t* bytes) {
    BnPtr b(BN_secure_new());
    if (!b || !BN_bin2bn(bytes, 32, b.get())) fatal("P-256: BIGNUM allocation failed");
    BN_set_flags(b.get(), BN_FLG_CONSTTIME);
    return b;
  };
  BnPtr d = secret_bn(secret.data());
  BnPtr e(BN_bin2bn(digest.data(), static_cast<int>(digest.size()), nullptr));  // qlen = 256: no truncation
  BnPtr n_minus_2(BN_dup(n)), x(BN_new()), r(BN_new()), s(BN_secure_new()), kinv(BN_secure_new());
  PointPtr big_r(EC_POINT_new(g));
  if (!e || !n_minus_2 || !x || !r || !s || !kinv || !big_r || !BN_sub_word(n_minus_2.get(), 2))
    fatal("P-256: BIGNUM allocation failed");
  BN_set_flags(s.get(), BN_FLG_CONSTTIME);

  Rfc6979 nonces(Curve::P256, secret, digest);
  for (;;) {
    Scalar k_bytes = nonces.next();
    BnPtr k = secret_bn(k_bytes.data());
    sodium_memzero(k_bytes.data(), k_bytes.size());
    // r = x(kG) mod n;  s = k^-1 (e + r d) mod n, with k^-1 = k^(n-2) by Fermat (constant time).
    if (!EC_POINT_mul(g, big_r.get(), k.get(), nullptr, nullptr, ctx.get()) ||
        !EC_POINT_get_affine_coordinates(g, big_r.get(), x.get(), nullptr, ctx.get()) ||
        !BN_nnmod(r.get(), x.get(), n, ctx.get()))
      fatal("P-256: nonce point computation failed");
    if (BN_is_zero(r.get())) continue;  // RFC 6979 §3.4: next candidate
    if (!BN_mod_exp_mont_consttime(kinv.get(), k.get(), n_minus_2.get(), n, ctx.get(), nullptr) ||
        !BN_mod_mul(s.get(), r.get(), d.get(), n, ctx.get()) || !BN_mod_add(s.get(), s.get(), e.get(), n, ctx.get()) ||
        !BN_mod_mul(s.get(), s.get(), kinv.get(), n, ctx.get()))
      fatal("P-256: signature arithmetic failed");
    if (BN_is_zero(s.get())) continue;
    break;
  }
  Signature64 out;
  if (BN_bn2binpad(r.get(), out.data(), 32) != 32 || BN_bn2binpad(s.get(), out.data() + 32, 32) != 32)
    fatal("P-256: signature encoding failed");
  if (scalar_is_high(Curve::P256, out.data() + 32)) scalar_negate(Curve::P256, out.data() + 32);
  return out;
}

bool p256_verify(ByteView public_key, const Digest32& digest, ByteView signature) {
  if (public_key.size() != 33 || !compact_is_canonical(Curve::P256, signature)) return false;
  EvpPkeyPtr pkey = make_pkey(public_key);
  if (!pkey) return false;
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(signature.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(signature.data() + 32, 32, nullptr);
  if (!sig || !r || !s || !ECDSA_SIG_set0(sig.get(), r, s)) {
    BN_free(r);
    BN_free(s);
    fatal("ECDSA_SIG construction failed");
  }
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) fatal("i2d_ECDSA_SIG failed");
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> der_owner(der, [](unsigned char* p) { OPENSSL_free(p); });
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) <= 0) return false;
  return EVP_PKEY_verify(ctx.get(), der, static_cast<std::size_t>(der_len), digest.data(), digest.size()) == 1;
}

Result<Bytes, CryptoError> p256_compress(ByteView uncompressed) {
  if (uncompressed.size() != 65 || uncompressed[0] != 0x04)
    return fail(CryptoError{"p256: expected a 65-byte uncompressed point (0x04||X||Y)"});
  PointPtr p(EC_POINT_new(group()));
  if (!p) fatal("EC_POINT_new failed");
  // oct2point checks that the point lies on the curve.
  if (!EC_POINT_oct2point(group(), p.get(), uncompressed.data(), uncompressed.size(), nullptr))
    return fail(CryptoError{"p256: point is not on the curve"});
  return point_to_bytes(p.get(), POINT_CONVERSION_COMPRESSED);
}

}  // namespace pisigner::crypto::detail
