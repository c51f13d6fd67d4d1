// Tezos public key hashes, public keys, signatures and chain ids: parsing, printing, binary forms.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pisigner/bytes.hpp"
#include "pisigner/crypto/curve.hpp"
#include "pisigner/result.hpp"
#include "pisigner/tezos/error.hpp"

namespace pisigner::tezos {

using crypto::Curve;

struct PublicKeyHash {
  Curve curve = Curve::Ed25519;
  std::array<std::uint8_t, 20> hash{};

  static Result<PublicKeyHash, TezosError> parse(std::string_view b58);  // tz1/tz2/tz3/tz4
  std::string to_b58() const;
  Bytes binary() const;  // 21 bytes: tag (0 tz1 .. 3 tz4) || hash
  static Result<PublicKeyHash, TezosError> from_binary(ByteView tag_and_hash);  // inverse of binary()
  auto operator<=>(const PublicKeyHash&) const = default;
};

struct PublicKey {
  Curve curve = Curve::Ed25519;
  Bytes key;  // 32 (Ed25519), 33 compressed (secp256k1, P-256), 48 (BLS)

  static Result<PublicKey, TezosError> parse(std::string_view b58);  // edpk/sppk/p2pk/BLpk
  static Result<PublicKey, TezosError> from_raw(Curve curve, ByteView key);
  std::string to_b58() const;
  PublicKeyHash hash() const;  // BLAKE2b-160 of the raw key
  bool operator==(const PublicKey&) const = default;
};

struct Signature {
  std::optional<Curve> curve;  // nullopt for the scheme-less generic "sig" form
  Bytes raw;                   // 64 bytes (96 for BLS)

  // edsig / spsig1 / p2sig / sig / BLsig.
  static Result<Signature, TezosError> parse(std::string_view b58);
  // The curve-specific form (edsig/spsig1/p2sig/BLsig); precondition: curve set.
  std::string to_b58() const;
  // The scheme-less "sig..." form; precondition: raw.size() == 64.
  std::string to_generic_b58() const;
};

struct ChainId {
  std::array<std::uint8_t, 4> bytes{};
  static Result<ChainId, TezosError> parse(std::string_view b58);  // "NetXdQprcVkpaWU"
  std::string to_b58() const;
  // A chain's id from its genesis block hash (32 bytes): the first 4 bytes of BLAKE2b-256.
  static ChainId from_genesis_block_hash(ByteView block_hash);
  auto operator<=>(const ChainId&) const = default;
};

inline constexpr ChainId kMainnetChainId{{0x7a, 0x06, 0xa7, 0x70}};  // NetXdQprcVkpaWU

// Ed25519/ECDSA: verify over BLAKE2b-256(payload). False for BLS (not supported) or malformed input.
bool verify(const PublicKey& pk, ByteView payload, const Signature& sig);

}  // namespace pisigner::tezos
