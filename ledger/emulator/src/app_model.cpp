// Dispatch, key commands, SETUP/RESET/DEAUTHORIZE and the queries. Signing and HMAC
// live in app_sign.cpp. Each handler follows the app's src/apdu*.c in the order of its checks,
// because clients tell errors apart by status word.
#include "pisigner/ledger/emulator/app_model.hpp"

#include <utility>

#include "baking_message.hpp"
#include "cdata.hpp"
#include "pisigner/ledger/protocol.hpp"

namespace pisigner::ledger::emulator {

namespace {

ApduResponse sw_only(std::uint16_t sw) { return ApduResponse{{}, sw}; }
ApduResponse ok(Bytes data) { return ApduResponse{std::move(data), sw::kOk}; }

void append_path(Bytes& out, const std::vector<std::uint32_t>& path) {
  out.push_back(static_cast<std::uint8_t>(path.size()));
  for (std::uint32_t c : path) append_be32(out, c);
}

}  // namespace

Bytes ApduResponse::message() const {
  Bytes out = data;
  out.push_back(static_cast<std::uint8_t>(sw >> 8));
  out.push_back(static_cast<std::uint8_t>(sw & 0xFF));
  return out;
}

BakingAppModel::BakingAppModel(Keyring keys, AppState nvram, AppIdentity identity)
    : keys_(std::move(keys)), identity_(std::move(identity)), nvram_(std::move(nvram)) {}

void BakingAppModel::restart(AppState nvram) {
  nvram_ = std::move(nvram);
  current_key_ = {};
  packet_index_ = 0;
  nvram_written();
}

ApduResponse BakingAppModel::handle(ByteView apdu) {
  // SDK apdu_parser: at least CLA INS P1 P2; Lc (absent = 0) must match the data length.
  if (apdu.size() < 4 || (apdu.size() > 4 && apdu.size() - 5 != apdu[4])) {
    packet_index_ = 0;
    return sw_only(sw::kWrongLength);
  }
  Command c{apdu[0], apdu[1], apdu[2], apdu[3], apdu.size() > 5 ? apdu.subspan(5) : ByteView{}};
  ApduResponse r = dispatch(c);
  // io_send_apdu_err clears the per-APDU globals, which hold the SIGN packet counter.
  if (r.sw != sw::kOk) packet_index_ = 0;
  return r;
}

ApduResponse BakingAppModel::dispatch(const Command& c) {
  // apdu_dispatcher checks Lc before CLA.
  if (c.data.size() > kMaxApduData) return sw_only(sw::kWrongLengthForIns);
  if (c.cla != kCla) return sw_only(sw::kClaNotSupported);

  const bool no_p1 = c.p1 == 0;
  const bool no_p2 = c.p2 == 0;
  const bool no_data = c.data.empty();
  const bool p2_curve = Keyring::supports(c.p2);

  switch (static_cast<Ins>(c.ins)) {
    case Ins::Version:
    case Ins::Git:
    case Ins::Deauthorize:
    case Ins::QueryAuthKey:
    case Ins::QueryAuthKeyWithCurve:
    case Ins::QueryMainHwm:
    case Ins::QueryAllHwm:
      if (!no_p1 || !no_p2) return sw_only(sw::kWrongParam);
      if (!no_data) return sw_only(sw::kWrongValues);
      return queries(c);
    case Ins::GetPublicKey:
    case Ins::PromptPublicKey:
    case Ins::AuthorizeBaking: {
      if (!no_p1 || !p2_curve) return sw_only(sw::kWrongParam);
      const bool authorize = c.ins == static_cast<std::uint8_t>(Ins::AuthorizeBaking);
      return get_public_key(c, authorize, authorize || c.ins == static_cast<std::uint8_t>(Ins::PromptPublicKey));
    }
    case Ins::Setup:
      if (!no_p1 || !p2_curve) return sw_only(sw::kWrongParam);
      return setup(c);
    case Ins::Reset:
      if (!no_p1 || !no_p2) return sw_only(sw::kWrongParam);
      return reset(c);
    case Ins::Sign:
    case Ins::SignWithHash: {
      if (!pin_validated_) return sw_only(sw::kSecurity);
      constexpr std::uint8_t kLastMarker = 0x80;
      switch (c.p1 & ~kLastMarker) {
        case 0x00:
          if (!p2_curve) return sw_only(sw::kWrongParam);
          return select_signing_key(c);
        case 0x01:
          return sign(c, (c.p1 & kLastMarker) != 0, c.ins == static_cast<std::uint8_t>(Ins::SignWithHash));
        default:
          return sw_only(sw::kWrongParam);
      }
    }
    case Ins::Hmac:
      if (!no_p1 || !p2_curve) return sw_only(sw::kWrongParam);
      return hmac(c);
    default:
      return sw_only(sw::kInvalidIns);
  }
}

ApduResponse BakingAppModel::provide_pubkey(const KeyRef& key) const {
  // The app refuses rather than send an empty key when the PIN is not validated.
  if (!pin_validated_) return sw_only(sw::kSecurity);
  auto pk = keys_.public_key(key.curve, key.path);
  if (!pk) return sw_only(pk.error().sw);
  Bytes out;
  out.push_back(static_cast<std::uint8_t>(pk->size()));
  out.insert(out.end(), pk->begin(), pk->end());
  return ok(std::move(out));
}

ApduResponse BakingAppModel::get_public_key(const Command& c, bool authorize, bool prompt) {
  current_key_.curve = c.p2;
  Cdata in(c.data);
  if (c.data.empty() && authorize) {
    // Empty AUTHORIZE_BAKING re-shows the stored key, curve included.
    current_key_ = nvram_.baking_key;
  } else {
    auto path = in.bip32_path();
    if (!path) return sw_only(sw::kWrongValues);
    current_key_.path = std::move(*path);
    if (!in.at_end()) return sw_only(sw::kWrongLength);
  }
  if (!prompt) return provide_pubkey(current_key_);
  if (prompt_ == PromptAnswer::Refuse) return sw_only(sw::kReject);
  if (authorize && !current_key_.path.empty()) {
    nvram_.baking_key = current_key_;
    nvram_written();
  }
  return provide_pubkey(current_key_);
}

ApduResponse BakingAppModel::setup(const Command& c) {
  packet_index_ = 0;  // SETUP's fields share the app's per-APDU union with SIGN's counter
  current_key_.curve = c.p2;
  Cdata in(c.data);
  auto chain = in.u32();
  auto main_level = chain ? in.u32() : std::nullopt;
  auto test_level = main_level ? in.u32() : std::nullopt;
  auto path = test_level ? in.bip32_path() : std::nullopt;
  if (!path) return sw_only(sw::kWrongValues);
  current_key_.path = std::move(*path);
  if (!in.at_end()) return sw_only(sw::kWrongLength);
  if (prompt_ == PromptAnswer::Refuse) return sw_only(sw::kReject);
  nvram_.baking_key = current_key_;
  nvram_.main_chain_id = *chain;
  nvram_.main = Watermark{*main_level, 0, false, false};
  nvram_.test = Watermark{*test_level, 0, false, false};
  nvram_written();
  return provide_pubkey(current_key_);
}

ApduResponse BakingAppModel::reset(const Command& c) {
  packet_index_ = 0;  // as in setup()
  Cdata in(c.data);
  auto level = in.u32();
  if (!level || !is_valid_level(*level)) return sw_only(sw::kWrongValues);
  if (!in.at_end()) return sw_only(sw::kWrongLength);
  if (prompt_ == PromptAnswer::Refuse) return sw_only(sw::kReject);
  // The app clears had_attestation but not had_preattestation here (unlike SETUP).
  for (Watermark* w : {&nvram_.main, &nvram_.test}) {
    w->level = *level;
    w->round = 0;
    w->had_attestation = false;
  }
  nvram_written();
  return sw_only(sw::kOk);
}

ApduResponse BakingAppModel::queries(const Command& c) {
  Bytes out;
  switch (static_cast<Ins>(c.ins)) {
    case Ins::Version:
      out = {kBakingAppClass, identity_.version[0], identity_.version[1], identity_.version[2]};
      return ok(std::move(out));
    case Ins::Git:
      out.assign(identity_.git_commit.begin(), identity_.git_commit.end());
      out.push_back(0);
      return ok(std::move(out));
    case Ins::Deauthorize:
      // The record is zeroed: path length 0 and derivation type 0.
      nvram_.baking_key = {};
      nvram_written();
      return sw_only(sw::kOk);
    case Ins::QueryAuthKey:
      append_path(out, nvram_.baking_key.path);
      return ok(std::move(out));
    case Ins::QueryAuthKeyWithCurve:
      // Only an invalid stored curve gives 0x6A88; a deauthorized record reads as 00 00.
      if (nvram_.baking_key.curve > static_cast<std::uint8_t>(DerivationType::Bls12_381))
        return sw_only(sw::kReferencedDataNotFound);
      out.push_back(nvram_.baking_key.curve);
      append_path(out, nvram_.baking_key.path);
      return ok(std::move(out));
    case Ins::QueryMainHwm:
      append_be32(out, nvram_.main.level);
      append_be32(out, nvram_.main.round);
      return ok(std::move(out));
    case Ins::QueryAllHwm:
      append_be32(out, nvram_.main.level);
      append_be32(out, nvram_.main.round);
      append_be32(out, nvram_.test.level);
      append_be32(out, nvram_.test.round);
      append_be32(out, nvram_.main_chain_id);
      return ok(std::move(out));
    default:
      return sw_only(sw::kInvalidIns);
  }
}

}  // namespace pisigner::ledger::emulator
