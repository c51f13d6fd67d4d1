// The few fields of a baking message the app reads (src/baking_auth.c parse_block,
// parse_consensus_operation). Everything else in the message is skipped, as on the device.
#pragma once

#include <cstdint>
#include <optional>

#include "pisigner/bytes.hpp"

namespace pisigner::ledger::emulator {

inline constexpr std::uint8_t kMagicManagerOp = 0x03;
inline constexpr std::uint8_t kMagicBlock = 0x11;
inline constexpr std::uint8_t kMagicPreattestation = 0x12;
inline constexpr std::uint8_t kMagicAttestation = 0x13;

// Levels use 30 bits; the app refuses 2^30 and above (baking_auth.c is_valid_level).
inline bool is_valid_level(std::uint32_t level) { return (level & 0xC0000000u) == 0; }

enum class BakingKind { Block, Preattestation, Attestation };

struct BakingMessage {
  BakingKind kind;
  std::uint32_t chain_id;
  std::uint32_t level;
  std::uint32_t round;
};

// `message` starts with the magic byte. nullopt when the app's parser would fail (0x9405):
// unknown magic, truncated fields, a fitness that is not Tenderbake's.
std::optional<BakingMessage> parse_baking_message(ByteView message);

}  // namespace pisigner::ledger::emulator
