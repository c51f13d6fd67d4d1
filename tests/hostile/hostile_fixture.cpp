#include "hostile_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "pisigner/crypto/hash.hpp"
#include "pisigner/keys/soft_key.hpp"
#include "pisigner/policy/auth.hpp"

namespace pisigner::testing {

namespace {
constexpr const char* kBootstrap2Sk = "unencrypted:edsk39qAm1fiMjgmPkw1EgQYkMzkJezLNewd7PLNHTkr6w9XA2zdfo";
}

bool long_form() {
  const char* v = std::getenv("PISIGNER_HOSTILE_LONG");
  return v != nullptr && std::string(v) == "1";
}

std::string hostile_config(const std::filesystem::path& dir) {
  std::ostringstream s;
  s << "[server]\nlisten = [\"127.0.0.1:0\"]\nadmin_listen = [\"127.0.0.1:0\"]\nhealth_listen = [\"127.0.0.1:0\"]\n"
    << "header_timeout_s = " << kHeaderTimeoutS << "\nmax_connections = " << kMaxConnections << "\n"
    << "[store]\npath = \"" << (dir / "store").string() << "\"\n"
    << "[policy]\nmax_chains_per_key = 0\n"
    << "[auth]\nrequired = true\nauthorized_keys = [\"" << kBootstrap2Pk << "\"]\n"
    << "[health]\ninterval_ms = 200\n"
    << "[log]\nlevel = \"warn\"\n"
    << "[[key]]\nbackend = \"soft\"\nsecret_key = \"" << kBootstrap1Sk << "\"\n";
  return s.str();
}

std::string auth_for(const std::string& payload_hex) {
  static const auto key = keys::SoftKey::load(kBootstrap2Sk, std::nullopt).value();
  static const auto signer = tezos::PublicKeyHash::parse(kBootstrap1Pkh).value();
  const Bytes msg = policy::Authenticator::signed_bytes(signer, from_hex(payload_hex).value());
  return key->sign(msg, crypto::blake2b_256(msg)).value().to_b58();
}

std::string signed_target(const std::string& payload_hex) {
  return kKeyPath + "?authentication=" + auth_for(payload_hex);
}

std::string on_chain(std::string payload_hex, std::uint32_t n) {
  char id[9];
  std::snprintf(id, sizeof id, "%08x", 0x5a000000u + n);
  payload_hex.replace(2, 8, id);
  return payload_hex;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(i, values.size() - 1)];
}

HonestSigner::HonestSigner(std::uint16_t port, std::uint32_t chain) : client_(port), chain_(chain) {}

std::vector<double> HonestSigner::sign(int n) {
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const std::string payload = on_chain(attestation_hex(level_++, 0), chain_);
    const std::string target = signed_target(payload);  // the client's own cost, outside the timing
    const auto t0 = std::chrono::steady_clock::now();
    auto r = client_.post(target, "\"" + payload + "\"");
    out.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (r.status != 200 || !j.is_object() || !j.contains("signature")) {
      if (++failures_ <= 5) ADD_FAILURE() << "honest signature refused: " << r.status << " " << r.body;
    }
  }
  return out;
}

double report(const std::string& name, const std::vector<double>& latencies, double baseline_p99) {
  const double p99 = percentile(latencies, 0.99);
  std::printf("%-34s honest sign p99 %7.3f ms (p50 %6.3f) vs %6.3f ms without attack: ratio %5.2f\n", name.c_str(),
              p99, percentile(latencies, 0.5), baseline_p99, baseline_p99 > 0 ? p99 / baseline_p99 : 0.0);
  std::fflush(stdout);
  return p99;
}

}  // namespace pisigner::testing
