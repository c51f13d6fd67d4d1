#include "pisigner/crypto/signing.hpp"

#include <sodium.h>

#include <cstring>

#include "internal.hpp"

namespace pisigner::crypto {

struct SecretKey::Impl {
  Curve curve;
  detail::Scalar secret{};                                   // Ed25519 seed or ECDSA scalar
  std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> ed_sk{};  // libsodium's expanded seed||pk
  Bytes public_key;

  ~Impl() {
    sodium_memzero(secret.data(), secret.size());
    sodium_memzero(ed_sk.data(), ed_sk.size());
  }
};

SecretKey::SecretKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SecretKey::SecretKey(SecretKey&&) noexcept = default;
SecretKey& SecretKey::operator=(SecretKey&&) noexcept = default;
SecretKey::~SecretKey() = default;

Result<SecretKey, CryptoError> SecretKey::from_bytes(Curve curve, ByteView secret) {
  detail::ensure_sodium();
  if (curve == Curve::Bls12_381) return fail(CryptoError{"BLS12-381 keys are not supported"});
  if (secret.size() != 32) return fail(CryptoError{"secret key must be 32 bytes"});
  if (curve != Curve::Ed25519 && !detail::scalar_is_valid(curve, secret))
    return fail(CryptoError{"secret scalar is zero or not below the curve order"});

  auto impl = std::make_unique<Impl>();
  impl->curve = curve;
  std::memcpy(impl->secret.data(), secret.data(), 32);
  switch (curve) {
    case Curve::Ed25519: {
      impl->public_key.resize(crypto_sign_PUBLICKEYBYTES);
      crypto_sign_seed_keypair(impl->public_key.data(), impl->ed_sk.data(), impl->secret.data());
      break;
    }
    case Curve::Secp256k1:
      impl->public_key = detail::secp256k1_public_key(impl->secret);
      break;
    case Curve::P256:
      impl->public_key = detail::p256_public_key(impl->secret);
      break;
    case Curve::Bls12_381:
      break;  // rejected above
  }
  return SecretKey(std::move(impl));
}

SecretKey SecretKey::generate(Curve curve) {
  detail::ensure_sodium();
  detail::Scalar buf;
  // For ECDSA a random 256-bit string is a valid scalar except with probability ~2^-32 (P-256) or
  // ~2^-128 (secp256k1); draw again in that case.
  for (;;) {
    randombytes_buf(buf.data(), buf.size());
    auto key = from_bytes(curve, buf);
    sodium_memzero(buf.data(), buf.size());
    if (key) return std::move(key).value();
    if (curve == Curve::Bls12_381) detail::fatal("SecretKey::generate: BLS12-381 is not supported");
  }
}

Curve SecretKey::curve() const { return impl_->curve; }
const Bytes& SecretKey::public_key() const { return impl_->public_key; }
ByteView SecretKey::secret_bytes() const { return impl_->secret; }

Signature64 SecretKey::sign_digest(const Digest32& digest) const {
  Signature64 sig;
  switch (impl_->curve) {
    case Curve::Ed25519:
      crypto_sign_detached(sig.data(), nullptr, digest.data(), digest.size(), impl_->ed_sk.data());
      return sig;
    case Curve::Secp256k1:
      return detail::secp256k1_sign(impl_->secret, digest);
    case Curve::P256:
      return detail::p256_sign(impl_->secret, digest);
    case Curve::Bls12_381:
      break;
  }
  detail::fatal("sign_digest on an unsupported curve");
}

bool signs_deterministically(Curve curve) {
  switch (curve) {
    case Curve::Ed25519:    // RFC 8032: the nonce is a hash of the key and the message
    case Curve::Secp256k1:  // libsecp256k1's default nonce function is RFC 6979
    case Curve::P256:       // p256_sign: RFC 6979
      return true;
    case Curve::Bls12_381:
      return false;
  }
  return false;
}

bool verify_digest(Curve curve, ByteView public_key, const Digest32& digest, ByteView signature) {
  switch (curve) {
    case Curve::Ed25519:
      detail::ensure_sodium();
      if (public_key.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES) return false;
      return crypto_sign_verify_detached(signature.data(), digest.data(), digest.size(), public_key.data()) == 0;
    case Curve::Secp256k1:
      return detail::secp256k1_verify(public_key, digest, signature);
    case Curve::P256:
      return detail::p256_verify(public_key, digest, signature);
    case Curve::Bls12_381:
      return false;
  }
  return false;
}

Result<Bytes, CryptoError> compress_point(Curve curve, ByteView uncompressed) {
  switch (curve) {
    case Curve::Secp256k1:
      return detail::secp256k1_compress(uncompressed);
    case Curve::P256:
      return detail::p256_compress(uncompressed);
    default:
      return fail(CryptoError{"compress_point: not an ECDSA curve"});
  }
}

}  // namespace pisigner::crypto
