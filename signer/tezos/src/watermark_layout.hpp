// Byte offsets read from signing payloads. Source: octez src/bin_signer/handler.ml and
// proto_alpha block_header_repr.ml / operation_repr.ml (reference/octez-signer.md §5.2-5.3);
// documented in ../FORMATS.md §4. Every offset counts the magic byte as byte 0.
#pragma once

#include <cstddef>

namespace pisigner::tezos::layout {

inline constexpr std::size_t kChainOffset = 1;           // 4-byte chain id after the magic byte
inline constexpr std::size_t kMinWatermarkedSize = 9;    // magic + chain + one int32

// Tenderbake (0x11) and Emmy (0x01) block headers: shell level right after the chain id.
inline constexpr std::size_t kBlockLevel = 5;
// 0x11: uint32 byte length of the fitness; its last 4 bytes are the round.
inline constexpr std::size_t kBlockFitnessLength = 83;
inline constexpr std::size_t kBlockFitness = 87;
inline constexpr std::size_t kRoundSize = 4;

// (Pre)attestation signed by tz1/tz2/tz3: tag(1) at 37, slot(2) at 38.
inline constexpr std::size_t kConsensusLevel = 40;
inline constexpr std::size_t kConsensusRound = 44;
inline constexpr std::size_t kConsensusMinSize = 48;
// BLS mode (tz4 signer): no slot.
inline constexpr std::size_t kBlsConsensusLevel = 38;
inline constexpr std::size_t kBlsConsensusRound = 42;
inline constexpr std::size_t kBlsConsensusMinSize = 46;

// Emmy endorsement (0x02): the level is the last 4 bytes.
inline constexpr std::size_t kLegacyEndorsementLevelFromEnd = 4;

}  // namespace pisigner::tezos::layout
