// P-256 through OpenSSL 3's EVP interface (the low-level EC_KEY API is deprecated in 3.0).
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "internal.hpp"

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

// EVP key from an encoded public point (compressed or not) and an optional private scalar.
EvpPkeyPtr make_pkey(ByteView pub, const Scalar* secret) {
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  BnPtr priv;
  if (!bld) fatal("OSSL_PARAM_BLD_new failed");
  if (!OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, kGroupName, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size()))
    fatal("OSSL_PARAM_BLD push failed");
  if (secret) {
    priv.reset(BN_secure_new());
    if (!priv || !BN_bin2bn(secret->data(), static_cast<int>(secret->size()), priv.get()) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()))
      fatal("P-256 private key parameter failed");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0) fatal("EVP_PKEY_fromdata_init failed");
  EVP_PKEY* raw = nullptr;
  int selection = secret ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) <= 0) return nullptr;
  return EvpPkeyPtr(raw);
}

}  // namespace

void EvpPkeyDeleter::operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }

Bytes p256_public_key(const Scalar& secret) {
  return point_to_bytes(public_point(secret).get(), POINT_CONVERSION_COMPRESSED);
}

P256Key p256_load(const Scalar& secret) {
  PointPtr pub = public_point(secret);
  Bytes uncompressed = point_to_bytes(pub.get(), POINT_CONVERSION_UNCOMPRESSED);
  EvpPkeyPtr pkey = make_pkey(uncompressed, &secret);
  if (!pkey) fatal("EVP_PKEY_fromdata(P-256 key pair) failed");
  return P256Key{std::move(pkey), point_to_bytes(pub.get(), POINT_CONVERSION_COMPRESSED)};
}

Signature64 p256_sign(EVP_PKEY* key, const Digest32& digest) {
  // A context per call keeps sign() const and thread-safe; the EVP_PKEY itself is only read.
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  unsigned char der[80];
  std::size_t der_len = sizeof der;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) <= 0 ||
      EVP_PKEY_sign(ctx.get(), der, &der_len, digest.data(), digest.size()) <= 0)
    fatal("P-256 EVP_PKEY_sign failed");
  auto compact = der_to_compact(Curve::P256, ByteView(der, der_len));
  if (!compact) fatal("P-256: OpenSSL produced an unparseable signature");
  return *compact;
}

bool p256_verify(ByteView public_key, const Digest32& digest, ByteView signature) {
  if (public_key.size() != 33 || !compact_is_canonical(Curve::P256, signature)) return false;
  EvpPkeyPtr pkey = make_pkey(public_key, nullptr);
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
