#include "pisigner/tezos/secret_key.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <array>

#include "pisigner/tezos/base58.hpp"

namespace pisigner::tezos {

namespace {

// octez src/lib_signer_backends/encrypted.ml (module Raw); see FORMATS.md §3.
constexpr std::string_view kUnencryptedScheme = "unencrypted";
constexpr std::string_view kEncryptedScheme = "encrypted";
constexpr std::size_t kSaltSize = 8;
constexpr int kPbkdf2Iterations = 32768;
constexpr std::size_t kSecretSize = 32;
constexpr std::size_t kBoxedSize = crypto_secretbox_MACBYTES + kSecretSize;
static_assert(crypto_secretbox_KEYBYTES == 32 && crypto_secretbox_NONCEBYTES == 24);
static_assert(kSaltSize + kBoxedSize == 56);

constexpr Prefix kSecretPrefixes[] = {Prefix::Edsk,  Prefix::EdskLong, Prefix::Spsk,  Prefix::P2sk, Prefix::BLsk,
                                      Prefix::Edesk, Prefix::Spesk,    Prefix::P2esk, Prefix::BLesk};

constexpr char kBlsUnsupported[] = "BLS (tz4) soft keys are not supported";

// Holds secret bytes and wipes them when it goes out of scope.
class SecretBuffer {
 public:
  SecretBuffer() = default;
  explicit SecretBuffer(Bytes b) : b_(std::move(b)) {}
  SecretBuffer(const SecretBuffer&) = delete;
  SecretBuffer& operator=(const SecretBuffer&) = delete;
  ~SecretBuffer() {
    if (!b_.empty()) sodium_memzero(b_.data(), b_.size());
  }
  Bytes& get() { return b_; }
  std::uint8_t* data() { return b_.data(); }
  std::size_t size() const { return b_.size(); }
  ByteView view(std::size_t offset, std::size_t n) const { return ByteView(b_).subspan(offset, n); }

 private:
  Bytes b_;
};

void ensure_sodium() {
  // sodium_init is idempotent and thread-safe; it only fails when no entropy source exists.
  static const int rc = sodium_init();
  (void)rc;
}

bool is_encrypted(Prefix p) {
  return p == Prefix::Edesk || p == Prefix::Spesk || p == Prefix::P2esk || p == Prefix::BLesk;
}

crypto::Curve curve_of(Prefix p) {
  switch (p) {
    case Prefix::Spsk:
    case Prefix::Spesk: return crypto::Curve::Secp256k1;
    case Prefix::P2sk:
    case Prefix::P2esk: return crypto::Curve::P256;
    case Prefix::BLsk:
    case Prefix::BLesk: return crypto::Curve::Bls12_381;
    default: return crypto::Curve::Ed25519;
  }
}

bool derive_box_key(std::string_view passphrase, ByteView salt, std::array<std::uint8_t, 32>& key) {
  return PKCS5_PBKDF2_HMAC(passphrase.data(), static_cast<int>(passphrase.size()), salt.data(),
                           static_cast<int>(salt.size()), kPbkdf2Iterations, EVP_sha512(), static_cast<int>(key.size()),
                           key.data()) == 1;
}

Result<crypto::SecretKey, TezosError> make_key(crypto::Curve curve, ByteView secret) {
  auto key = crypto::SecretKey::from_bytes(curve, secret);
  // The crypto layer's message is not reused: only the curve is named, never the bytes.
  if (!key) return fail(TezosError{"invalid " + std::string(crypto::curve_name(curve)) + " secret key"});
  return std::move(key).value();
}

Result<crypto::SecretKey, TezosError> decrypt(crypto::Curve curve, const SecretBuffer& payload,
                                              std::string_view passphrase) {
  std::array<std::uint8_t, 32> box_key{};
  if (!derive_box_key(passphrase, payload.view(0, kSaltSize), box_key)) {
    return fail(TezosError{"key derivation failed"});
  }
  static constexpr std::array<std::uint8_t, crypto_secretbox_NONCEBYTES> kZeroNonce{};
  SecretBuffer plain{Bytes(kSecretSize)};
  const ByteView boxed = payload.view(kSaltSize, kBoxedSize);
  const int rc = crypto_secretbox_open_easy(plain.data(), boxed.data(), boxed.size(), kZeroNonce.data(), box_key.data());
  sodium_memzero(box_key.data(), box_key.size());
  if (rc != 0) return fail(TezosError{"wrong passphrase or corrupt encrypted key"});
  return make_key(curve, plain.get());
}

Prefix plain_prefix(crypto::Curve c) {
  switch (c) {
    case crypto::Curve::Secp256k1: return Prefix::Spsk;
    case crypto::Curve::P256: return Prefix::P2sk;
    default: return Prefix::Edsk;  // a SecretKey is never BLS
  }
}

Prefix encrypted_prefix(crypto::Curve c) {
  switch (c) {
    case crypto::Curve::Secp256k1: return Prefix::Spesk;
    case crypto::Curve::P256: return Prefix::P2esk;
    default: return Prefix::Edesk;
  }
}

}  // namespace

Result<crypto::SecretKey, TezosError> parse_secret_key(std::string_view uri, std::optional<std::string_view> passphrase) {
  ensure_sodium();
  std::optional<std::string_view> scheme;
  std::string_view body = uri;
  if (auto colon = uri.find(':'); colon != std::string_view::npos) {
    scheme = uri.substr(0, colon);
    body = uri.substr(colon + 1);
    // The scheme is not echoed: a mistyped URI could carry key material before the colon.
    if (*scheme != kUnencryptedScheme && *scheme != kEncryptedScheme) {
      return fail(TezosError{"unsupported secret key scheme (expected unencrypted: or encrypted:)"});
    }
  }

  auto decoded = b58check_decode_any(kSecretPrefixes, body, "secret key");
  if (!decoded) return fail(std::move(decoded).error());
  const Prefix prefix = decoded->first;
  SecretBuffer payload(std::move(decoded->second));
  const crypto::Curve curve = curve_of(prefix);
  const bool encrypted = is_encrypted(prefix);

  if (scheme == kUnencryptedScheme && encrypted) {
    return fail(TezosError{"an encrypted key needs the encrypted: scheme"});
  }
  if (scheme == kEncryptedScheme && !encrypted) return fail(TezosError{"not an encrypted secret key"});
  if (curve == crypto::Curve::Bls12_381) return fail(TezosError{kBlsUnsupported});

  if (encrypted) {
    if (!passphrase) return fail(TezosError{"encrypted key needs a passphrase"});
    return decrypt(curve, payload, *passphrase);
  }
  if (prefix == Prefix::EdskLong) {
    // seed || public key: the second half must be what the seed derives.
    auto key = make_key(curve, payload.view(0, kSecretSize));
    if (!key) return key;
    const ByteView pk = payload.view(kSecretSize, payload.size() - kSecretSize);
    if (!std::equal(pk.begin(), pk.end(), key->public_key().begin(), key->public_key().end())) {
      return fail(TezosError{"edsk (64-byte form): public key half does not match the seed"});
    }
    return key;
  }
  return make_key(curve, payload.get());
}

std::string encode_secret_key(const crypto::SecretKey& key) {
  return std::string(kUnencryptedScheme) + ":" + b58check_encode(plain_prefix(key.curve()), key.secret_bytes());
}

std::string encrypt_secret_key(const crypto::SecretKey& key, std::string_view passphrase) {
  ensure_sodium();
  SecretBuffer payload{Bytes(kSaltSize + kBoxedSize)};
  randombytes_buf(payload.data(), kSaltSize);
  std::array<std::uint8_t, 32> box_key{};
  if (!derive_box_key(passphrase, payload.view(0, kSaltSize), box_key)) return {};
  static constexpr std::array<std::uint8_t, crypto_secretbox_NONCEBYTES> kZeroNonce{};
  const ByteView secret = key.secret_bytes();
  if (secret.size() != kSecretSize) return {};  // every SecretKey curve has 32 secret bytes
  crypto_secretbox_easy(payload.data() + kSaltSize, secret.data(), secret.size(), kZeroNonce.data(), box_key.data());
  sodium_memzero(box_key.data(), box_key.size());
  return std::string(kEncryptedScheme) + ":" + b58check_encode(encrypted_prefix(key.curve()), payload.get());
}

}  // namespace pisigner::tezos
