// SLIP-10 / BIP32 derivation, matching what a Ledger derives for the Tezos apps.
#include "pisigner/crypto/hd.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <charconv>
#include <cstring>
#include <string>

#include "internal.hpp"

namespace pisigner::crypto {

namespace {

constexpr std::size_t kMaxPathDepth = 10;

std::string_view hmac_key(Curve curve) {
  switch (curve) {
    case Curve::Ed25519: return "ed25519 seed";
    case Curve::Secp256k1: return "Bitcoin seed";
    case Curve::P256: return "Nist256p1 seed";
    case Curve::Bls12_381: break;
  }
  detail::fatal("HD derivation is not defined here for BLS12-381");
}

ByteView as_bytes(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

// Wipes an HMAC output when it goes out of scope: its left half is (or becomes) a private key.
struct Wiped64 {
  std::array<std::uint8_t, 64> bytes{};
  ~Wiped64() { sodium_memzero(bytes.data(), bytes.size()); }
};

ExtendedKey split(const std::array<std::uint8_t, 64>& i) {
  ExtendedKey k;
  std::memcpy(k.key.data(), i.data(), 32);
  std::memcpy(k.chain_code.data(), i.data() + 32, 32);
  return k;
}

}  // namespace

Result<std::vector<std::uint32_t>, CryptoError> parse_path(std::string_view path) {
  if (path.empty() || path[0] != 'm') return fail(CryptoError{"path must start with \"m\""});
  std::vector<std::uint32_t> out;
  std::string_view rest = path.substr(1);
  while (!rest.empty()) {
    if (rest[0] != '/') return fail(CryptoError{"path components must be separated by \"/\""});
    rest.remove_prefix(1);
    std::size_t end = rest.find('/');
    std::string_view comp = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    bool hardened = !comp.empty() && (comp.back() == '\'' || comp.back() == 'h');
    if (hardened) comp.remove_suffix(1);
    if (comp.empty()) return fail(CryptoError{"empty path component"});
    std::uint32_t n = 0;
    auto [ptr, ec] = std::from_chars(comp.data(), comp.data() + comp.size(), n);
    if (ec != std::errc{} || ptr != comp.data() + comp.size())
      return fail(CryptoError{"path component is not a number: " + std::string(comp)});
    if (n >= kHardened) return fail(CryptoError{"path component must be below 2^31"});
    if (out.size() == kMaxPathDepth) return fail(CryptoError{"path has more than 10 components"});
    out.push_back(hardened ? (n | kHardened) : n);
  }
  return out;
}

std::string format_path(const std::vector<std::uint32_t>& path) {
  std::string out = "m";
  for (std::uint32_t i : path) {
    out += '/';
    out += std::to_string(i & ~kHardened);
    if (i & kHardened) out += '\'';
  }
  return out;
}

std::array<std::uint8_t, 64> bip39_seed(std::string_view mnemonic, std::string_view passphrase) {
  std::string salt = "mnemonic";
  salt.append(passphrase);
  std::array<std::uint8_t, 64> seed;
  int ok = PKCS5_PBKDF2_HMAC(mnemonic.data(), static_cast<int>(mnemonic.size()),
                             reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                             2048, EVP_sha512(), static_cast<int>(seed.size()), seed.data());
  sodium_memzero(salt.data(), salt.size());
  if (ok != 1) detail::fatal("PKCS5_PBKDF2_HMAC failed");
  return seed;
}

ExtendedKey master_key(Curve curve, ByteView seed) {
  ByteView key = as_bytes(hmac_key(curve));
  Wiped64 i;
  i.bytes = hmac_sha512(key, seed);
  // SLIP-10: an invalid IL (zero or >= n) is retried with I itself as the HMAC message.
  while (curve != Curve::Ed25519 && !detail::scalar_is_valid(curve, ByteView(i.bytes).first(32))) {
    i.bytes = hmac_sha512(key, i.bytes);
  }
  return split(i.bytes);
}

Result<ExtendedKey, CryptoError> derive_child(Curve curve, const ExtendedKey& parent, std::uint32_t index) {
  if (curve == Curve::Bls12_381) return fail(CryptoError{"HD derivation is not supported for BLS12-381"});
  const bool hardened = (index & kHardened) != 0;
  if (curve == Curve::Ed25519 && !hardened)
    return fail(CryptoError{"Ed25519 (SLIP-10) derives hardened children only"});

  if (curve != Curve::Ed25519 && !detail::scalar_is_valid(curve, parent.key))
    return fail(CryptoError{"parent key is not a valid scalar"});

  // data = 0x00 || ser256(k_par) || ser32(i)  (hardened)  or  serP(point(k_par)) || ser32(i)
  Bytes data;
  data.reserve(37);
  if (hardened) {
    data.push_back(0x00);
    data.insert(data.end(), parent.key.begin(), parent.key.end());
  } else {
    Bytes pub = curve == Curve::Secp256k1 ? detail::secp256k1_public_key(parent.key)
                                          : detail::p256_public_key(parent.key);
    data = std::move(pub);
  }
  append_be32(data, index);

  Wiped64 i;
  ExtendedKey child;
  for (;;) {
    i.bytes = hmac_sha512(parent.chain_code, data);
    if (curve == Curve::Ed25519) {
      child = split(i.bytes);
      break;
    }
    detail::Scalar il;
    std::memcpy(il.data(), i.bytes.data(), 32);
    bool valid = detail::scalar_add_mod(curve, il, parent.key, child.key);
    sodium_memzero(il.data(), il.size());
    if (valid) {
      std::memcpy(child.chain_code.data(), i.bytes.data() + 32, 32);
      break;
    }
    // SLIP-10: invalid child key, retry with data = 0x01 || IR || ser32(i).
    data.assign(1, 0x01);
    data.insert(data.end(), i.bytes.begin() + 32, i.bytes.end());
    append_be32(data, index);
  }
  sodium_memzero(data.data(), data.size());
  return child;
}

Result<ExtendedKey, CryptoError> derive_path(Curve curve, ByteView seed, const std::vector<std::uint32_t>& path) {
  if (curve == Curve::Bls12_381) return fail(CryptoError{"HD derivation is not supported for BLS12-381"});
  ExtendedKey k = master_key(curve, seed);
  for (std::uint32_t index : path) {
    auto next = derive_child(curve, k, index);
    sodium_memzero(k.key.data(), k.key.size());
    if (!next) return fail(std::move(next).error());
    k = *next;
  }
  return k;
}

}  // namespace pisigner::crypto
