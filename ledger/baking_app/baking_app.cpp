#include "pisigner/ledger/baking_app.hpp"

#include <algorithm>

#include "pisigner/crypto/hash.hpp"

namespace pisigner::ledger {
namespace {
constexpr std::size_t kMaxPathComponents = 10;
constexpr std::size_t kHashSize = 32;

DeviceError bad(std::string m) { return DeviceError{DeviceErrc::BadReply, "malformed reply from the Ledger: " + std::move(m), sw::kOk, {}}; }

std::uint8_t p2(DerivationType c) { return static_cast<std::uint8_t>(c); }

Result<Path, DeviceError> decode_path(ByteView d, std::size_t offset) {
  if (d.size() <= offset) return fail(bad("missing path length"));
  const std::size_t n = d[offset];
  if (n > kMaxPathComponents || d.size() != offset + 1 + 4 * n) return fail(bad("path of " + std::to_string(n) + " components in " + std::to_string(d.size()) + " bytes"));
  Path p;
  for (std::size_t i = 0; i < n; ++i) p.push_back(read_be32(d, offset + 1 + 4 * i));
  return p;
}
}  // namespace

std::string AppVersion::to_string() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

Result<Bytes, DeviceError> encode_path(const Path& path) {
  if (path.size() > kMaxPathComponents) {
    return fail(DeviceError{DeviceErrc::WrongParam, "derivation path has more than 10 components", 0, {}});
  }
  Bytes out{static_cast<std::uint8_t>(path.size())};
  for (std::uint32_t c : path) append_be32(out, c);
  return out;
}

BakingApp::BakingApp(Transport& transport, BakingAppTimeouts timeouts) : transport_(transport), timeouts_(timeouts) {}

Result<Bytes, DeviceError> BakingApp::call(Ins ins, std::uint8_t p1, std::uint8_t p2v, Bytes data,
                                           std::chrono::milliseconds timeout) {
  if (data.size() > kMaxApduData) {
    return fail(DeviceError{DeviceErrc::WrongLength,
                            "request of " + std::to_string(data.size()) + " bytes exceeds the Ledger's 235-byte limit", 0, {}});
  }
  Apdu apdu{kCla, static_cast<std::uint8_t>(ins), p1, p2v, std::move(data)};
  auto r = transport_.exchange(apdu, timeout);
  if (!r) return fail(error_from_transport(r.error()));
  if (r->sw != sw::kOk) return fail(error_from_sw(r->sw, ins));
  return std::move(r->data);
}

Result<AppVersion, DeviceError> BakingApp::version() {
  auto r = call(Ins::Version, 0, 0, {}, timeouts_.apdu);
  if (!r) return fail(std::move(r).error());
  if (r->size() != 4) return fail(bad("VERSION reply of " + std::to_string(r->size()) + " bytes"));
  AppVersion v{(*r)[0], (*r)[1], (*r)[2], (*r)[3]};
  if (v.app_class != kBakingAppClass) {
    return fail(DeviceError{DeviceErrc::WrongApp,
                            v.app_class == 0 ? "the Tezos Wallet app is open on the Ledger, not Tezos Baking"
                                             : "Tezos Baking app is not open on the Ledger (app class " + std::to_string(v.app_class) + ")",
                            sw::kOk, {}});
  }
  return v;
}

Result<std::string, DeviceError> BakingApp::git() {
  auto r = call(Ins::Git, 0, 0, {}, timeouts_.apdu);
  if (!r) return fail(std::move(r).error());
  // NUL-terminated ASCII.
  auto end = std::find(r->begin(), r->end(), std::uint8_t{0});
  return std::string(r->begin(), end);
}

Result<PublicKey, DeviceError> BakingApp::pubkey_call(Ins ins, DerivationType curve, const Path& path,
                                                      std::chrono::milliseconds timeout) {
  auto p = encode_path(path);
  if (!p) return fail(std::move(p).error());
  auto r = call(ins, 0, p2(curve), std::move(*p), timeout);
  if (!r) return fail(std::move(r).error());
  return decode_public_key(curve, *r);
}

Result<PublicKey, DeviceError> BakingApp::get_public_key(DerivationType curve, const Path& path) {
  return pubkey_call(Ins::GetPublicKey, curve, path, timeouts_.apdu);
}
Result<PublicKey, DeviceError> BakingApp::prompt_public_key(DerivationType curve, const Path& path) {
  return pubkey_call(Ins::PromptPublicKey, curve, path, timeouts_.prompt);
}
Result<PublicKey, DeviceError> BakingApp::authorize_baking(DerivationType curve, const Path& path) {
  return pubkey_call(Ins::AuthorizeBaking, curve, path, timeouts_.prompt);
}

Result<std::optional<Path>, DeviceError> BakingApp::query_auth_key() {
  auto r = call(Ins::QueryAuthKey, 0, 0, {}, timeouts_.apdu);
  if (!r) return fail(std::move(r).error());
  auto p = decode_path(*r, 0);
  if (!p) return fail(std::move(p).error());
  if (p->empty()) return std::optional<Path>{};
  return std::optional<Path>(std::move(*p));
}

Result<std::optional<AuthorizedKey>, DeviceError> BakingApp::query_auth_key_with_curve() {
  auto r = call(Ins::QueryAuthKeyWithCurve, 0, 0, {}, timeouts_.apdu);
  // Octez reads 0x6A88 as "no key"; a zeroed record (N = 0) means the same.
  if (!r && r.error().sw == sw::kReferencedDataNotFound) return std::optional<AuthorizedKey>{};
  if (!r) return fail(std::move(r).error());
  if (r->empty()) return fail(bad("empty QUERY_AUTH_KEY_WITH_CURVE reply"));
  const std::uint8_t curve = (*r)[0];
  if (curve > static_cast<std::uint8_t>(DerivationType::Bls12_381)) return fail(bad("unknown curve " + std::to_string(curve)));
  auto p = decode_path(*r, 1);
  if (!p) return fail(std::move(p).error());
  if (p->empty()) return std::optional<AuthorizedKey>{};
  return std::optional<AuthorizedKey>(AuthorizedKey{static_cast<DerivationType>(curve), std::move(*p)});
}

Result<MainHwm, DeviceError> BakingApp::query_main_hwm() {
  auto r = call(Ins::QueryMainHwm, 0, 0, {}, timeouts_.apdu);
  if (!r) return fail(std::move(r).error());
  if (r->size() == 8) return MainHwm{read_be32(*r, 0), read_be32(*r, 4)};
  if (r->size() == 4) return MainHwm{read_be32(*r, 0), std::nullopt};
  return fail(bad("QUERY_MAIN_HWM reply of " + std::to_string(r->size()) + " bytes"));
}

Result<AllHwm, DeviceError> BakingApp::query_all_hwm() {
  auto r = call(Ins::QueryAllHwm, 0, 0, {}, timeouts_.apdu);
  if (!r) return fail(std::move(r).error());
  const Bytes& d = *r;
  // Tenderbake-era apps: level, round, level, round, chain; older ones: level, level, chain.
  if (d.size() == 20) return AllHwm{read_be32(d, 0), read_be32(d, 4), read_be32(d, 8), read_be32(d, 12), read_be32(d, 16)};
  if (d.size() == 12) return AllHwm{read_be32(d, 0), std::nullopt, read_be32(d, 4), std::nullopt, read_be32(d, 8)};
  return fail(bad("QUERY_ALL_HWM reply of " + std::to_string(d.size()) + " bytes"));
}

Result<PublicKey, DeviceError> BakingApp::setup(DerivationType curve, const Path& path, std::uint32_t main_chain_id,
                                                std::uint32_t main_level, std::uint32_t test_level) {
  auto p = encode_path(path);
  if (!p) return fail(std::move(p).error());
  Bytes data;
  append_be32(data, main_chain_id);
  append_be32(data, main_level);
  append_be32(data, test_level);
  data.insert(data.end(), p->begin(), p->end());
  auto r = call(Ins::Setup, 0, p2(curve), std::move(data), timeouts_.prompt);
  if (!r) return fail(std::move(r).error());
  return decode_public_key(curve, *r);
}

Result<void, DeviceError> BakingApp::reset(std::uint32_t level) {
  Bytes data;
  append_be32(data, level);
  auto r = call(Ins::Reset, 0, 0, std::move(data), timeouts_.prompt);
  if (!r) return fail(std::move(r).error());
  return {};
}

Result<void, DeviceError> BakingApp::deauthorize() {
  auto r = call(Ins::Deauthorize, 0, 0, {}, timeouts_.apdu);
  if (!r) return fail(std::move(r).error());
  return {};
}

Result<Bytes, DeviceError> BakingApp::sign_raw(Ins ins, DerivationType curve, const Path& path, ByteView message) {
  if (auto ok = check_length(message); !ok) return fail(std::move(ok).error());
  auto p = encode_path(path);
  if (!p) return fail(std::move(p).error());
  // Always select the key first: without it the app signs with whatever path it last saw.
  auto first = call(ins, kP1First, p2(curve), std::move(*p), timeouts_.apdu);
  if (!first) return fail(std::move(first).error());
  return sign_message(ins, curve, message);
}

Result<void, DeviceError> BakingApp::check_length(ByteView message) {
  if (message.size() <= kMaxApduData) return {};
  return fail(DeviceError{DeviceErrc::WrongLength,
                          "message of " + std::to_string(message.size()) + " bytes is over the Ledger's 235-byte limit", 0, {}});
}

Result<Bytes, DeviceError> BakingApp::sign_message(Ins ins, DerivationType curve, ByteView message) {
  if (auto ok = check_length(message); !ok) return fail(std::move(ok).error());
  // Delegations prompt on the device; baking messages answer at once.
  const bool may_prompt = !message.empty() && message[0] == 0x03;
  return call(ins, kP1Last, p2(curve), Bytes(message.begin(), message.end()),
              may_prompt ? timeouts_.prompt : timeouts_.apdu);
}

Result<Signature, DeviceError> BakingApp::sign(DerivationType curve, const Path& path, ByteView message) {
  auto r = sign_raw(Ins::Sign, curve, path, message);
  if (!r) return fail(std::move(r).error());
  return decode_signature(curve, *r);
}

Result<void, DeviceError> BakingApp::sign_with_hash_begin(DerivationType curve, const Path& path) {
  if (path_sent_) return fail(bad("a signature is already under way"));
  auto p = encode_path(path);
  if (!p) return fail(std::move(p).error());
  auto s = transport_.send(Apdu{kCla, static_cast<std::uint8_t>(Ins::SignWithHash), kP1First, p2(curve), std::move(*p)},
                           timeouts_.apdu);
  if (!s) return fail(error_from_transport(s.error()));
  path_sent_ = true;
  return {};
}

Result<void, DeviceError> BakingApp::read_path_reply() {
  if (!path_sent_) return fail(bad("no signature under way"));
  path_sent_ = false;
  auto r = transport_.receive(timeouts_.apdu);
  if (!r) return fail(error_from_transport(r.error()));
  if (r->sw != sw::kOk) return fail(error_from_sw(r->sw, Ins::SignWithHash));
  return {};
}

Result<void, DeviceError> BakingApp::sign_with_hash_abandon() { return read_path_reply(); }

Result<Signature, DeviceError> BakingApp::sign_with_hash_finish(DerivationType curve, ByteView message) {
  if (auto first = read_path_reply(); !first) return fail(std::move(first).error());
  auto r = sign_message(Ins::SignWithHash, curve, message);
  if (!r) return fail(std::move(r).error());
  if (r->size() <= kHashSize) return fail(bad("SIGN_WITH_HASH reply too short"));
  const auto expected = crypto::blake2b_256(message);
  if (!std::equal(expected.begin(), expected.end(), r->begin())) {
    return fail(bad("the hash the Ledger signed is not BLAKE2b-256 of the message"));
  }
  return decode_signature(curve, ByteView(*r).subspan(kHashSize));
}

Result<Signature, DeviceError> BakingApp::sign_with_hash(DerivationType curve, const Path& path, ByteView message) {
  if (auto ok = check_length(message); !ok) return fail(std::move(ok).error());
  if (auto b = sign_with_hash_begin(curve, path); !b) return fail(std::move(b).error());
  return sign_with_hash_finish(curve, message);
}

Result<std::array<std::uint8_t, 32>, DeviceError> BakingApp::hmac(DerivationType curve, const Path& path, ByteView message) {
  auto p = encode_path(path);
  if (!p) return fail(std::move(p).error());
  Bytes data = std::move(*p);
  data.insert(data.end(), message.begin(), message.end());
  auto r = call(Ins::Hmac, 0, p2(curve), std::move(data), timeouts_.apdu);
  if (!r) return fail(std::move(r).error());
  if (r->size() != 32) return fail(bad("HMAC reply of " + std::to_string(r->size()) + " bytes"));
  std::array<std::uint8_t, 32> out{};
  std::copy(r->begin(), r->end(), out.begin());
  return out;
}

}  // namespace pisigner::ledger
