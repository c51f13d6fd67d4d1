#include "pisigner/tezos/keys.hpp"

#include <algorithm>

#include "pisigner/crypto/hash.hpp"
#include "pisigner/crypto/signing.hpp"
#include "pisigner/tezos/base58.hpp"

namespace pisigner::tezos {

namespace {

constexpr Prefix kPkhPrefixes[] = {Prefix::Tz1, Prefix::Tz2, Prefix::Tz3, Prefix::Tz4};
constexpr Prefix kPkPrefixes[] = {Prefix::Edpk, Prefix::Sppk, Prefix::P2pk, Prefix::BLpk};
constexpr Prefix kSigPrefixes[] = {Prefix::Edsig, Prefix::Spsig1, Prefix::P2sig, Prefix::GenericSig, Prefix::BLsig};

// Each table is indexed by Curve (whose values are the Tezos key tags 0..3).
constexpr std::size_t kCurves = 4;
constexpr std::size_t kPublicKeySizes[kCurves] = {32, 33, 33, 48};
constexpr std::size_t kEcdsaSignatureSize = 64;
constexpr std::size_t kBlsSignatureSize = 96;

std::size_t index(Curve c) { return static_cast<std::size_t>(c); }

std::size_t signature_size(Curve c) { return c == Curve::Bls12_381 ? kBlsSignatureSize : kEcdsaSignatureSize; }

}  // namespace

Result<PublicKeyHash, TezosError> PublicKeyHash::parse(std::string_view b58) {
  auto r = b58check_decode_any(kPkhPrefixes, b58, "public key hash");
  if (!r) return fail(std::move(r).error());
  PublicKeyHash pkh;
  // kPkhPrefixes is in Curve order.
  pkh.curve = static_cast<Curve>(std::find(std::begin(kPkhPrefixes), std::end(kPkhPrefixes), r->first) -
                                 std::begin(kPkhPrefixes));
  std::copy(r->second.begin(), r->second.end(), pkh.hash.begin());
  return pkh;
}

std::string PublicKeyHash::to_b58() const { return b58check_encode(kPkhPrefixes[index(curve)], hash); }

Bytes PublicKeyHash::binary() const {
  Bytes out;
  out.reserve(1 + hash.size());
  out.push_back(static_cast<std::uint8_t>(curve));
  out.insert(out.end(), hash.begin(), hash.end());
  return out;
}

Result<PublicKeyHash, TezosError> PublicKeyHash::from_binary(ByteView tag_and_hash) {
  PublicKeyHash pkh;
  if (tag_and_hash.size() != 1 + pkh.hash.size()) return fail(TezosError{"binary public key hash must be 21 bytes"});
  if (tag_and_hash[0] >= kCurves) return fail(TezosError{"unknown public key hash tag"});
  pkh.curve = static_cast<Curve>(tag_and_hash[0]);
  std::copy(tag_and_hash.begin() + 1, tag_and_hash.end(), pkh.hash.begin());
  return pkh;
}

Result<PublicKey, TezosError> PublicKey::parse(std::string_view b58) {
  auto r = b58check_decode_any(kPkPrefixes, b58, "public key");
  if (!r) return fail(std::move(r).error());
  auto curve = static_cast<Curve>(std::find(std::begin(kPkPrefixes), std::end(kPkPrefixes), r->first) -
                                  std::begin(kPkPrefixes));
  return from_raw(curve, r->second);
}

Result<PublicKey, TezosError> PublicKey::from_raw(Curve curve, ByteView key) {
  if (index(curve) >= kCurves) return fail(TezosError{"unknown public key curve"});
  if (key.size() != kPublicKeySizes[index(curve)]) {
    return fail(TezosError{"invalid " + std::string(crypto::curve_name(curve)) + " public key length"});
  }
  // Compressed SEC1 points start with 02 or 03; anything else cannot be a point.
  if ((curve == Curve::Secp256k1 || curve == Curve::P256) && key[0] != 0x02 && key[0] != 0x03) {
    return fail(TezosError{"invalid " + std::string(crypto::curve_name(curve)) + " public key: not a compressed point"});
  }
  PublicKey pk;
  pk.curve = curve;
  pk.key.assign(key.begin(), key.end());
  return pk;
}

std::string PublicKey::to_b58() const { return b58check_encode(kPkPrefixes[index(curve)], key); }

PublicKeyHash PublicKey::hash() const {
  PublicKeyHash pkh;
  pkh.curve = curve;
  pkh.hash = crypto::blake2b_160(key);
  return pkh;
}

Result<Signature, TezosError> Signature::parse(std::string_view b58) {
  auto r = b58check_decode_any(kSigPrefixes, b58, "signature");
  if (!r) return fail(std::move(r).error());
  Signature sig;
  switch (r->first) {
    case Prefix::Edsig: sig.curve = Curve::Ed25519; break;
    case Prefix::Spsig1: sig.curve = Curve::Secp256k1; break;
    case Prefix::P2sig: sig.curve = Curve::P256; break;
    case Prefix::BLsig: sig.curve = Curve::Bls12_381; break;
    default: sig.curve = std::nullopt; break;  // generic "sig"
  }
  sig.raw = std::move(r->second);
  return sig;
}

std::string Signature::to_b58() const {
  if (!curve) return to_generic_b58();
  switch (*curve) {
    case Curve::Ed25519: return b58check_encode(Prefix::Edsig, raw);
    case Curve::Secp256k1: return b58check_encode(Prefix::Spsig1, raw);
    case Curve::P256: return b58check_encode(Prefix::P2sig, raw);
    case Curve::Bls12_381: return b58check_encode(Prefix::BLsig, raw);
  }
  return to_generic_b58();
}

std::string Signature::to_generic_b58() const { return b58check_encode(Prefix::GenericSig, raw); }

Result<ChainId, TezosError> ChainId::parse(std::string_view b58) {
  auto r = b58check_decode(Prefix::ChainId, b58);
  if (!r) return fail(std::move(r).error());
  ChainId id;
  std::copy(r->begin(), r->end(), id.bytes.begin());
  return id;
}

std::string ChainId::to_b58() const { return b58check_encode(Prefix::ChainId, bytes); }

ChainId ChainId::from_genesis_block_hash(ByteView block_hash) {
  auto digest = crypto::blake2b_256(block_hash);
  ChainId id;
  std::copy_n(digest.begin(), id.bytes.size(), id.bytes.begin());
  return id;
}

bool verify(const PublicKey& pk, ByteView payload, const Signature& sig) {
  if (pk.curve == Curve::Bls12_381) return false;
  if (sig.curve && *sig.curve != pk.curve) return false;
  if (sig.raw.size() != signature_size(pk.curve)) return false;
  return crypto::verify_digest(pk.curve, pk.key, crypto::blake2b_256(payload), sig.raw);
}

}  // namespace pisigner::tezos
