// The Baking app's persistent state (its NVRAM record `baking_data`), as the
// virtual Ledger keeps it, plus an optional JSON file that plays the part of NVRAM.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pisigner/result.hpp"

namespace pisigner::ledger::emulator {

// One watermark slot (main or test chain).
struct Watermark {
  std::uint32_t level = 0;
  std::uint32_t round = 0;
  bool had_attestation = false;
  bool had_preattestation = false;
  bool operator==(const Watermark&) const = default;
};

// A key as the app names it: BIP32 path and derivation type (the P2 curve code).
// An empty path means "no key" (a fresh or deauthorized device).
struct KeyRef {
  std::vector<std::uint32_t> path;
  std::uint8_t curve = 0;
  bool operator==(const KeyRef&) const = default;
};

// Zero-initialised like a freshly installed app.
struct AppState {
  std::uint32_t main_chain_id = 0;  // 0 = unset: every chain uses the main slot
  Watermark main;
  Watermark test;
  KeyRef baking_key;
  bool operator==(const AppState&) const = default;
};

// Reads a state file written by save_state. A missing file is not an error: it yields nullopt.
Result<std::optional<AppState>, Error> load_state(const std::filesystem::path& file);
// Writes atomically and durably (temporary file, fsync, rename, fsync of the directory).
Result<void, Error> save_state(const std::filesystem::path& file, const AppState& state);

// The state file's JSON; `pretty` = indented over several lines.
std::string state_to_json(const AppState& state, bool pretty = true);

// "ed25519" | "secp256k1" | "p256" (also "tz1"/"tz2"/"tz3") -> derivation type 0/1/2.
std::optional<std::uint8_t> parse_curve_name(std::string_view name);
std::string curve_label(std::uint8_t derivation_type);
// A chain id as base58check ("NetXdQprcVkpaWU") or 8 hex digits ("7a06a770").
std::optional<std::uint32_t> parse_chain_id(std::string_view text);

}  // namespace pisigner::ledger::emulator
