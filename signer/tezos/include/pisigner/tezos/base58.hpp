// Base58check with Tezos prefixes. Format: base58(prefix || payload || sha256d(prefix||payload)[0..4]).
// Prefix bytes and payload sizes: tezos/tezos-mirror src/lib_crypto/base58.ml (reference/octez-signer.md §6.1),
// tabulated once in src/prefixes.hpp and documented in signer/tezos/FORMATS.md §1.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

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
// How an encoding starts, for messages: "tz1", "edsk", "spsig1", "Net", ...
std::string_view prefix_name(Prefix p);

// Longest text the decoders accept (base58 decoding is quadratic; the longest Tezos
// object handled here, BLsig, is 142 characters).
inline constexpr std::size_t kMaxBase58Length = 512;

// Raw base58 without checksum or prefix (Bitcoin alphabet); leading zero bytes <-> '1's.
std::string base58_encode(ByteView data);
// nullopt on a character outside the alphabet or text longer than kMaxBase58Length.
std::optional<Bytes> base58_decode(std::string_view text);

std::string b58check_encode(Prefix prefix, ByteView payload);  // precondition: payload.size() == payload_size(prefix)
// Decodes and checks checksum, prefix and payload length; returns the payload.
Result<Bytes, TezosError> b58check_decode(Prefix prefix, std::string_view text);
// Decodes text that may be any of `candidates`; returns the matching prefix and the payload.
// `what` names the expected object in errors ("unknown <what> prefix").
Result<std::pair<Prefix, Bytes>, TezosError> b58check_decode_any(std::span<const Prefix> candidates,
                                                                 std::string_view text, std::string_view what);

}  // namespace pisigner::tezos
