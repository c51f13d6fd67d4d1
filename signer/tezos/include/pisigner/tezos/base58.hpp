// Base58check with Tezos prefixes. Format: base58(prefix || payload || sha256d(prefix||payload)[0..4]).
// Prefix bytes and payload sizes: tezos/tezos-mirror src/lib_crypto/base58.ml (reference/octez-signer.md §6.1).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pisigner/bytes.hpp"
#include "pisigner/result.hpp"
#include "pisigner/tezos/error.hpp"

namespace pisigner::tezos {

enum class Prefix {
  Tz1, Tz2, Tz3, Tz4,
  Edpk, Sppk, P2pk, BLpk,
  Edsk, EdskLong /* 64-byte seed||pk */, Spsk, P2sk, BLsk,
  Edesk, Spesk, P2esk, BLesk,
  Edsig, Spsig1, P2sig, GenericSig, BLsig,
  ChainId, BlockHash, BlockPayloadHash,
};

// Payload length for a prefix (e.g. Tz1 -> 20, Edsig -> 64).
std::size_t payload_size(Prefix p);

// Raw base58 without checksum or prefix (Bitcoin alphabet).
std::string base58_encode(ByteView data);
std::optional<Bytes> base58_decode(std::string_view text);

std::string b58check_encode(Prefix prefix, ByteView payload);  // precondition: payload.size() == payload_size(prefix)
// Decodes and checks checksum, prefix and payload length; returns the payload.
Result<Bytes, TezosError> b58check_decode(Prefix prefix, std::string_view text);

}  // namespace pisigner::tezos
