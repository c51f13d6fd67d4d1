// The kill harness's clients: one stream per (key, chain) signs block, preattestation and
// attestation at each (level, round), rising, and checks every answer as it comes.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "pisigner/hwm/store.hpp"
#include "pisigner/tezos/keys.hpp"
#include "support/http.hpp"

namespace pisigner::testing {

inline constexpr const char* kChainA = "ed9d217c";  // NetXxkAx4woPLyu: the virtual Ledger's main chain
inline constexpr const char* kChainB = "1f2e3d4c";  // another test chain: the device's test slot

struct StreamKey {
  std::string pkh;
  std::string secret;  // soft keys: the unencrypted secret key URI
  bool ledger = false;
  std::optional<tezos::PublicKey> public_key;  // soft keys: known up front; the Ledger's is asked for
};

// bootstrap1 (Ed25519), a secp256k1 and a P-256 soft key, and the virtual Ledger's Ed25519 key.
std::vector<StreamKey> stream_keys();

struct Counters {
  std::atomic<std::uint64_t> signatures{0};   // fresh answers received
  std::atomic<std::uint64_t> retries_ok{0};   // byte-identical retries answered with the same signature
  std::atomic<std::uint64_t> refusals{0};     // conflicting payloads refused, as they must be
  std::atomic<std::uint64_t> unavailable{0};  // 503s (device not yet identified after a restart)
  // Requests cut by a kill and refused when retried: the device had signed (its own watermark moved)
  // but the daemon died before it answered. Not a signature anyone received.
  std::atomic<std::uint64_t> unanswered_refused{0};
  std::atomic<std::uint64_t> unexpected{0};   // a fresh, rising payload refused
  std::atomic<std::uint64_t> regressions{0};  // a broken promise (see the checks); must stay 0
  std::uint64_t double_signed = 0;
};

// Every signature received, by slot; finds two payloads (or two signatures) at one slot.
class Ledger {
 public:
  // Returns false (and counts) if the slot already holds another payload or another signature.
  bool record(const std::string& pkh, const std::string& chain, int kind, std::int32_t level, std::int32_t round,
              const std::string& payload, const std::string& signature);
  std::uint64_t double_signed() const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int, std::int32_t, std::int32_t>,
           std::pair<std::string, std::string>> slots_;
  std::uint64_t doubles_ = 0;
};

class Stream {
 public:
  Stream(StreamKey key, std::string chain_hex) : key_(std::move(key)), chain_(std::move(chain_hex)) {}

  // After a (re)start: resolves the request a kill cut, retries the last answer byte for byte and
  // probes its slot with other bytes; then signs rising payloads until `stop` or the daemon dies.
  void run(HttpClient& c, std::mt19937& rng, const std::atomic<bool>& stop, Ledger& ledger, Counters& n);
  // The restart checks alone, on a daemon left running.
  void settle(HttpClient& c, Ledger& ledger, Counters& n);
  // Regressions: a kind whose last signature received lies above the record `stored` holds.
  std::uint64_t check_covered(const std::map<hwm::HwmKey, hwm::Record>& stored) const;

 private:
  struct Sent {
    int kind = 0;  // 0 block, 1 preattestation, 2 attestation
    std::int32_t level = 0, round = 0;
    std::string payload;
  };
  enum class Outcome { Answered, Refused, Dead };
  Sent make(int kind, std::int32_t level, std::int32_t round, std::uint8_t variant) const;
  HttpResult post(HttpClient& c, const Sent& s) const;
  bool verify(HttpClient& c, const Sent& s, const std::string& signature);
  // The restart checks; false if the daemon died meanwhile.
  bool restart_checks(HttpClient& c, Ledger& ledger, Counters& n);
  Outcome sign_new(HttpClient& c, const Sent& s, Ledger& ledger, Counters& n);

  StreamKey key_;
  std::string chain_;
  std::int32_t level_ = 0, round_ = 0;
  int next_kind_ = 0;
  std::optional<Sent> pending_;  // cut by a kill: outcome unknown
  std::optional<std::pair<Sent, std::string>> last_;  // last answer received and its signature
  std::map<int, std::pair<std::int32_t, std::int32_t>> highest_;  // kind -> (level, round) received
};

}  // namespace pisigner::testing
