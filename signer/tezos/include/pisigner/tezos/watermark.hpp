// Reads (kind, chain, level, round) from a signing payload without decoding the operation.
// Offsets: octez src/bin_signer/handler.ml (reference/octez-signer.md §5.2-5.3); see signer/tezos/FORMATS.md §4.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "pisigner/bytes.hpp"
#include "pisigner/crypto/curve.hpp"
#include "pisigner/result.hpp"
#include "pisigner/tezos/error.hpp"
#include "pisigner/tezos/keys.hpp"

namespace pisigner::tezos {

namespace magic {
inline constexpr std::uint8_t kLegacyBlock = 0x01;
inline constexpr std::uint8_t kLegacyEndorsement = 0x02;
inline constexpr std::uint8_t kGeneric = 0x03;
inline constexpr std::uint8_t kAuthenticatedRequest = 0x04;
inline constexpr std::uint8_t kMichelson = 0x05;
inline constexpr std::uint8_t kBlock = 0x11;
inline constexpr std::uint8_t kPreattestation = 0x12;
inline constexpr std::uint8_t kAttestation = 0x13;
}  // namespace magic

// Independent watermark sets, as octez keeps them (one file each).
enum class Kind : std::uint8_t { Block = 0, Preattestation = 1, Attestation = 2, Endorsement = 3 };
std::string_view kind_name(Kind k);  // "block", "preattestation", "attestation", "endorsement"
std::optional<Kind> parse_kind(std::string_view name);

struct Watermark {
  std::uint8_t magic = 0;
  Kind kind = Kind::Block;
  ChainId chain;
  std::int32_t level = 0;
  std::optional<std::int32_t> round;  // absent for legacy 0x01/0x02
};

// nullopt: the magic byte carries no watermark (0x03, 0x05, ...). Error: a watermarked kind
// that is too short or malformed ("byte sequence too short to be a block", ...), or an empty payload.
// (Pre)attestation offsets depend on the signing key's curve: tz4 uses the BLS-mode layout.
Result<std::optional<Watermark>, TezosError> extract_watermark(ByteView payload, crypto::Curve signer_curve);

}  // namespace pisigner::tezos
