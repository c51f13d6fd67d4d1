#include "pisigner/ledger/emulator/app_state.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pisigner/bytes.hpp"
#include "pisigner/crypto/hash.hpp"
#include "pisigner/crypto/hd.hpp"

namespace pisigner::ledger::emulator {

namespace {

using nlohmann::json;

json watermark_json(const Watermark& w) {
  return {{"level", w.level}, {"round", w.round}, {"had_attestation", w.had_attestation},
          {"had_preattestation", w.had_preattestation}};
}

Watermark watermark_from(const json& j) {
  return Watermark{j.at("level").get<std::uint32_t>(), j.at("round").get<std::uint32_t>(),
                   j.at("had_attestation").get<bool>(), j.at("had_preattestation").get<bool>()};
}

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

Result<void, Error> fsync_path(const std::filesystem::path& p, int flags) {
  int fd = ::open(p.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return fail(Error{errno_text("open " + p.string())});
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return fail(Error{errno_text("fsync " + p.string())});
  return {};
}

}  // namespace

std::string state_to_json(const AppState& s, bool pretty) {
  char chain[9];
  std::snprintf(chain, sizeof chain, "%08x", s.main_chain_id);
  json j = {{"main_chain_id", chain}, {"main", watermark_json(s.main)}, {"test", watermark_json(s.test)}};
  if (s.baking_key.path.empty()) {
    j["baking_key"] = nullptr;
  } else {
    j["baking_key"] = {{"path", crypto::format_path(s.baking_key.path)}, {"curve", curve_label(s.baking_key.curve)}};
  }
  return pretty ? j.dump(2) : j.dump();
}

Result<std::optional<AppState>, Error> load_state(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    if (!std::filesystem::exists(file)) return std::optional<AppState>{};
    return fail(Error{"cannot read " + file.string()});
  }
  try {
    json j = json::parse(in);
    AppState s;
    auto chain = parse_chain_id(j.at("main_chain_id").get<std::string>());
    if (!chain) return fail(Error{file.string() + ": bad main_chain_id"});
    s.main_chain_id = *chain;
    s.main = watermark_from(j.at("main"));
    s.test = watermark_from(j.at("test"));
    const json& k = j.at("baking_key");
    if (!k.is_null()) {
      auto path = crypto::parse_path(k.at("path").get<std::string>());
      auto curve = parse_curve_name(k.at("curve").get<std::string>());
      if (!path || path->empty() || !curve) return fail(Error{file.string() + ": bad baking_key"});
      s.baking_key = KeyRef{std::move(*path), *curve};
    }
    return std::optional<AppState>{std::move(s)};
  } catch (const json::exception& e) {
    return fail(Error{file.string() + ": " + e.what()});
  }
}

Result<void, Error> save_state(const std::filesystem::path& file, const AppState& state) {
  const std::filesystem::path tmp = file.string() + ".tmp";
  const std::string text = state_to_json(state) + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Error{errno_text("open " + tmp.string())});
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  bool synced = written && ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return fail(Error{errno_text("write " + tmp.string())});
  if (::rename(tmp.c_str(), file.c_str()) != 0) return fail(Error{errno_text("rename to " + file.string())});
  std::filesystem::path dir = file.parent_path().empty() ? "." : file.parent_path();
  return fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

std::optional<std::uint8_t> parse_curve_name(std::string_view name) {
  if (name == "ed25519" || name == "tz1") return 0;
  if (name == "secp256k1" || name == "tz2") return 1;
  if (name == "p256" || name == "secp256r1" || name == "tz3") return 2;
  return std::nullopt;
}

std::string curve_label(std::uint8_t derivation_type) {
  switch (derivation_type) {
    case 0: return "ed25519";
    case 1: return "secp256k1";
    case 2: return "p256";
    default: return std::to_string(derivation_type);
  }
}

std::optional<std::uint32_t> parse_chain_id(std::string_view text) {
  if (text.size() == 8) {
    auto b = from_hex(text);
    if (!b) return std::nullopt;
    return read_be32(*b, 0);
  }
  // base58check: prefix 87 82 0 (decimal) ("Net"), 4 bytes, 4-byte checksum.
  static constexpr std::string_view kAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  Bytes num;  // big-endian base-256 accumulator
  for (char ch : text) {
    std::size_t digit = kAlphabet.find(ch);
    if (digit == std::string_view::npos) return std::nullopt;
    unsigned carry = static_cast<unsigned>(digit);
    for (auto it = num.rbegin(); it != num.rend(); ++it) {
      carry += 58u * *it;
      *it = static_cast<std::uint8_t>(carry & 0xFF);
      carry >>= 8;
    }
    while (carry) {
      num.insert(num.begin(), static_cast<std::uint8_t>(carry & 0xFF));
      carry >>= 8;
    }
  }
  if (num.size() != 11 || num[0] != 87 || num[1] != 82 || num[2] != 0) return std::nullopt;
  const crypto::Digest32 check = crypto::sha256d(ByteView(num.data(), 7));
  if (!std::equal(check.begin(), check.begin() + 4, num.begin() + 7)) return std::nullopt;
  return read_be32(num, 3);
}

}  // namespace pisigner::ledger::emulator
