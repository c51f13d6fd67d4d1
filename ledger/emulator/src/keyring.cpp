#include "pisigner/ledger/emulator/keyring.hpp"

#include <algorithm>

#include "ecdsa_device.hpp"
#include "pisigner/crypto/hd.hpp"
#include "pisigner/crypto/signing.hpp"
#include "pisigner/ledger/protocol.hpp"

namespace pisigner::ledger::emulator {

namespace {

crypto::Curve to_curve(std::uint8_t derivation_type) {
  switch (static_cast<DerivationType>(derivation_type)) {
    case DerivationType::Secp256k1: return crypto::Curve::Secp256k1;
    case DerivationType::P256: return crypto::Curve::P256;
    default: return crypto::Curve::Ed25519;
  }
}

Result<crypto::SecretKey, KeyError> derive(ByteView seed, std::uint8_t curve, const std::vector<std::uint32_t>& path) {
  if (!Keyring::supports(curve)) return fail(KeyError{sw::kWrongParam});
  const crypto::Curve c = to_curve(curve);
  auto xk = crypto::derive_path(c, seed, path);
  if (!xk) return fail(KeyError{sw::kUnknownCxError});
  auto sk = crypto::SecretKey::from_bytes(c, xk->key);
  if (!sk) return fail(KeyError{sw::kUnknownCxError});
  return std::move(*sk);
}

}  // namespace

Keyring Keyring::from_mnemonic(std::string_view mnemonic) { return Keyring(crypto::bip39_seed(mnemonic)); }

Result<Keyring, Error> Keyring::from_seed(ByteView seed) {
  if (seed.size() != 64) return fail(Error{"a raw seed must be 64 bytes"});
  std::array<std::uint8_t, 64> s{};
  std::copy(seed.begin(), seed.end(), s.begin());
  return Keyring(s);
}

bool Keyring::supports(std::uint8_t curve) {
  return curve == static_cast<std::uint8_t>(DerivationType::Ed25519) ||
         curve == static_cast<std::uint8_t>(DerivationType::Secp256k1) ||
         curve == static_cast<std::uint8_t>(DerivationType::P256);
}

Result<Bytes, KeyError> Keyring::public_key(std::uint8_t curve, const std::vector<std::uint32_t>& path) const {
  auto sk = derive(seed_, curve, path);
  if (!sk) return fail(sk.error());
  const Bytes& pk = sk->public_key();
  if (sk->curve() == crypto::Curve::Ed25519) {
    // cx_edwards_compress_point leaves the format byte 0x02 in front of the 32-byte key.
    Bytes out{0x02};
    out.insert(out.end(), pk.begin(), pk.end());
    return out;
  }
  auto full = uncompress_point(sk->curve(), pk);
  if (!full) return fail(KeyError{sw::kUnknownCxError});
  return std::move(*full);
}

Result<Bytes, KeyError> Keyring::sign_hash(std::uint8_t curve, const std::vector<std::uint32_t>& path,
                                           const crypto::Digest32& hash) const {
  auto sk = derive(seed_, curve, path);
  if (!sk) return fail(sk.error());
  const crypto::Signature64 rs = sk->sign_digest(hash);
  if (sk->curve() == crypto::Curve::Ed25519) return Bytes(rs.begin(), rs.end());
  auto der = device_der(sk->curve(), sk->public_key(), hash, rs);
  if (!der) return fail(KeyError{sw::kUnknownCxError});
  return std::move(*der);
}

}  // namespace pisigner::ledger::emulator
