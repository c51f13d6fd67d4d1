// SIGN / SIGN_WITH_HASH (src/apdu_sign.c), the watermark rule (src/baking_auth.c) and HMAC
// (src/apdu_hmac.c).
#include <openssl/sha.h>

#include <algorithm>
#include <array>

#include "baking_message.hpp"
#include "cdata.hpp"
#include "pisigner/crypto/hash.hpp"
#include "pisigner/ledger/emulator/app_model.hpp"
#include "pisigner/ledger/protocol.hpp"

namespace pisigner::ledger::emulator {

namespace {

ApduResponse sw_only(std::uint16_t sw) { return ApduResponse{{}, sw}; }

Watermark& slot_for(AppState& s, std::uint32_t chain_id) {
  return (chain_id == s.main_chain_id || s.main_chain_id == 0) ? s.main : s.test;
}

// baking_auth.c is_level_authorized.
bool level_authorized(const Watermark& w, const BakingMessage& m) {
  if (!is_valid_level(m.level)) return false;
  if (m.level > w.level) return true;
  if (m.level == w.level && m.round > w.round) return true;
  if (m.level == w.level && m.round == w.round) {
    if (m.kind == BakingKind::Attestation) return !w.had_attestation;
    if (m.kind == BakingKind::Preattestation) return !w.had_attestation && !w.had_preattestation;
  }
  return false;
}

// baking_auth.c write_high_water_mark.
void advance(Watermark& w, const BakingMessage& m) {
  if (m.level > w.level || m.round > w.round) {
    w.had_attestation = false;
    w.had_preattestation = false;
  }
  w.level = std::max(w.level, m.level);
  w.round = m.round;
  w.had_attestation |= m.kind == BakingKind::Attestation;
  w.had_preattestation |= m.kind == BakingKind::Preattestation;
}

}  // namespace

ApduResponse BakingAppModel::select_signing_key(const Command& c) {
  packet_index_ = 0;
  Cdata in(c.data);
  auto path = in.bip32_path();
  if (!path) return sw_only(sw::kWrongValues);
  current_key_.path = std::move(*path);
  if (!in.at_end()) return sw_only(sw::kWrongLength);
  current_key_.curve = c.p2;
  return sw_only(sw::kOk);
}

ApduResponse BakingAppModel::sign(const Command& c, bool last, bool with_hash) {
  if (current_key_.path.empty()) return sw_only(sw::kWrongLengthForIns);
  // The app takes exactly one data packet when baking.
  if (++packet_index_ != 1) return sw_only(sw::kParseError);
  auto msg = parse_baking_message(c.data);
  if (!msg) return sw_only(sw::kParseError);
  if (!last) return sw_only(sw::kOk);

  const crypto::Digest32 hash = crypto::blake2b_256(c.data);
  // guard_baking_authorized: the key first, then the level.
  const KeyRef& auth = nvram_.baking_key;
  if (auth.path.empty() || current_key_ != auth) return sw_only(sw::kSecurity);
  Watermark& slot = slot_for(nvram_, msg->chain_id);
  if (!level_authorized(slot, *msg)) return sw_only(sw::kWrongValues);

  // perform_signature: PIN, then the watermark is written before the signature is made.
  if (!pin_validated_) return sw_only(sw::kSecurity);
  advance(slot, *msg);
  nvram_written();
  auto sig = keys_.sign_hash(current_key_.curve, current_key_.path, hash);
  if (!sig) return sw_only(sig.error().sw);
  packet_index_ = 0;
  ApduResponse r{{}, sw::kOk};
  if (with_hash) r.data.assign(hash.begin(), hash.end());
  r.data.insert(r.data.end(), sig->begin(), sig->end());
  return r;
}

ApduResponse BakingAppModel::hmac(const Command& c) {
  packet_index_ = 0;  // HMAC state shares the per-APDU union with SIGN's counter
  Cdata in(c.data);
  auto path = in.bip32_path();
  if (!path) return sw_only(sw::kWrongValues);
  // A fixed value signed with the key; SHA-512 of that signature is the HMAC key.
  static constexpr crypto::Digest32 kKeySha256 = {
      0x6c, 0x4e, 0x7e, 0x70, 0x6c, 0x54, 0xd3, 0x67, 0xc8, 0x7a, 0x8d, 0x89, 0xc1, 0x6a, 0xdf, 0xe0,
      0x6c, 0xb5, 0x68, 0x0c, 0xb7, 0xd1, 0x8e, 0x62, 0x5a, 0x90, 0x47, 0x5e, 0xc0, 0xdb, 0xdb, 0x9f};
  auto sig = keys_.sign_hash(c.p2, *path, kKeySha256);
  if (!sig) return sw_only(sig.error().sw);
  std::array<std::uint8_t, SHA512_DIGEST_LENGTH> key{};
  SHA512(sig->data(), sig->size(), key.data());
  const crypto::Digest32 mac = crypto::hmac_sha256(key, in.rest());
  return ApduResponse{Bytes(mac.begin(), mac.end()), sw::kOk};
}

}  // namespace pisigner::ledger::emulator
