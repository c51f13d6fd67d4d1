// The daemon the hostile-client and load tests attack, and the honest baker they must not delay.
// pisignerd runs as shipped except: request authentication on (bootstrap2 authorizes bootstrap1's
// key, as with a proxy host that is not trusted), a 2 s header timeout (so slow clients are dropped
// within the test), the connection cap at its maximum (1024, the worst case for memory), no cap
// on chains (the load signs on one chain per connection), and a health listener (server.health_listen)
// as the fleet's role configures one for HAProxy's checks.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "support/daemon.hpp"

namespace pisigner::testing {

inline constexpr int kHeaderTimeoutS = 2;
inline constexpr int kMaxConnections = 1024;
inline const std::string kKeyPath = std::string("/keys/") + kBootstrap1Pkh;

// PISIGNER_HOSTILE_LONG=1: ten times the signatures per phase and 100,000 load requests.
bool long_form();

std::string hostile_config(const std::filesystem::path& dir);

// The `authentication=` value bootstrap2 gives for `payload_hex` signed by bootstrap1.
std::string auth_for(const std::string& payload_hex);
// POST target with the authentication for payload_hex.
std::string signed_target(const std::string& payload_hex);
// payload_hex (an operation with its chain id at bytes 1-4) moved to chain number `n`.
std::string on_chain(std::string payload_hex, std::uint32_t n);

// p in [0, 1] of the values (sorted copy); 0 for none.
double percentile(std::vector<double> values, double p);

// One keep-alive connection signing attestations at increasing levels on its own chain, as a baker does.
class HonestSigner {
 public:
  HonestSigner(std::uint16_t port, std::uint32_t chain);
  // Signs n attestations; every one must get 200 and a signature (else failures() grows).
  // Returns each request's latency in milliseconds.
  std::vector<double> sign(int n);
  int failures() const { return failures_; }

 private:
  HttpClient client_;
  std::uint32_t chain_;
  std::int32_t level_ = 1;
  int failures_ = 0;
};

// Prints and returns the p99 of `latencies` beside the baseline: "<name>: honest sign p99 X ms
// (p50 Y) vs Z ms without attack: ratio R".
double report(const std::string& name, const std::vector<double>& latencies, double baseline_p99);

}  // namespace pisigner::testing
