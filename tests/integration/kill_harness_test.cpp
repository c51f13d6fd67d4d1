// The kill harness: clients drive the real pisignerd (three soft keys and a key on the virtual
// Ledger, two chains each) with blocks, preattestations and attestations at increasing levels while
// the daemon is SIGKILLed at random moments. After every kill the store is read as it was left, and
// after every restart each stream first retries its last answer byte for byte. Regressions must be 0.
// Short form always (>= 20 kills); PISIGNER_KILL_LONG=1: >= 200 kills and >= 10,000 signatures.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "kill_streams.hpp"
#include "pisigner/hwm/store.hpp"
#include "support/daemon.hpp"
#include "support/vledger.hpp"

using namespace pisigner;
using namespace pisigner::testing;
using namespace std::chrono_literals;

namespace {

bool long_form() {
  const char* v = std::getenv("PISIGNER_KILL_LONG");
  return v != nullptr && std::string(v) == "1";
}

std::string config(const std::filesystem::path& dir, int apdu_port, const std::vector<StreamKey>& keys) {
  std::string c = "[server]\nlisten = [\"127.0.0.1:0\"]\nadmin_listen = [\"127.0.0.1:0\"]\n"
                  "[store]\npath = \"" + (dir / "store").string() + "\"\n"
                  "[health]\ninterval_ms = 200\nmax_age_ms = 1500\n";
  for (const auto& k : keys) {
    if (k.ledger) {
      c += "[[key]]\nbackend = \"ledger\"\ndevice = \"tcp://127.0.0.1:" + std::to_string(apdu_port) +
           "\"\npath = \"" + kLedgerPath + "\"\ncurve = \"ed25519\"\npkh = \"" + k.pkh + "\"\ntimeout_ms = 2000\n";
    } else {
      c += "[[key]]\nbackend = \"soft\"\nsecret_key = \"" + k.secret + "\"\n";
    }
  }
  return c;
}

// Waits until every key answers (the Ledger key needs its device connected and identified).
bool ready(Daemon& d, std::chrono::milliseconds limit) {
  auto c = d.client();
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (c.get("/authorized").status == 200) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// Reads the store the dead daemon left (read-only, as `pisignerctl hwm show` does).
std::map<hwm::HwmKey, hwm::Record> read_store(const std::filesystem::path& dir) {
  hwm::SqliteOptions o;
  o.exclusive = false;
  o.create = false;
  o.read_only = true;
  auto store = hwm::open_sqlite_store(dir, o);
  std::map<hwm::HwmKey, hwm::Record> out;
  if (!store) {
    ADD_FAILURE() << "store unreadable after SIGKILL: " << store.error().message;
    return out;
  }
  auto list = (*store)->list();
  if (!list) {
    ADD_FAILURE() << list.error().message;
    return out;
  }
  for (auto& [k, r] : *list) out[k] = r;
  return out;
}

}  // namespace

TEST(KillHarness, SigkillAtRandomMomentsNeverLosesOrDoublesASignature) {
  const bool lng = long_form();
  const int min_kills = lng ? 200 : 20;
  const std::uint64_t min_signatures = lng ? 10000 : 0;
  const int max_run_ms = lng ? 400 : 250;

  Vledger v({"--main-chain", kChainA, "--log-level", "warn"});  // chain B uses the device's test slot
  TempDir dir("kill-harness");
  const std::vector<StreamKey> keys = stream_keys();
  const std::string cfg = config(dir.path(), v.apdu_port(), keys);
  Ledger ledger;  // every signature received, by slot
  Counters n;
  std::vector<Stream> streams;
  for (const auto& k : keys) {
    for (const char* chain : {kChainA, kChainB}) streams.emplace_back(k, chain);
  }
  std::map<hwm::HwmKey, hwm::Record> previous;  // the store after the previous kill
  std::mt19937 rng(20261206);
  const auto started = std::chrono::steady_clock::now();

  int kills = 0;
  while (kills < min_kills || n.signatures.load() < min_signatures) {
    SCOPED_TRACE("after kill " + std::to_string(kills));
    Daemon d(dir.path(), cfg);
    ASSERT_NE(d.port(), 0) << d.log();
    ASSERT_TRUE(ready(d, 10s)) << d.client().get("/authorized").body << d.log();
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < streams.size(); ++i) {
      threads.emplace_back([&, i] {
        try {
          HttpClient c = d.client();
          std::mt19937 srng(static_cast<std::uint32_t>(kills * 131 + i));
          streams[i].run(c, srng, stop, ledger, n);
        } catch (const std::exception& e) {
          ADD_FAILURE() << "stream " << i << ": " << e.what();
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % max_run_ms));
    d.kill9();
    stop = true;
    for (auto& t : threads) t.join();
    ++kills;

    // What the dead daemon left on disk covers every signature received, and never went down.
    auto stored = read_store(dir.path() / "store");
    for (const auto& s : streams) n.regressions += s.check_covered(stored);
    for (const auto& [k, r] : previous) {
      auto it = stored.find(k);
      if (it == stored.end() || std::pair(it->second.level, it->second.round.value_or(0)) <
                                    std::pair(r.level, r.round.value_or(0))) {
        ADD_FAILURE() << "stored watermark went down after kill " << kills;
        ++n.regressions;
      }
    }
    previous = std::move(stored);
    if (n.regressions.load() > 0) break;
  }
  // A last restart: every stream's retries and probes run once more against a daemon left alive.
  {
    Daemon d(dir.path(), cfg);
    ASSERT_TRUE(ready(d, 10s)) << d.log();
    HttpClient c = d.client();
    for (auto& s : streams) s.settle(c, ledger, n);
  }
  n.double_signed = ledger.double_signed();
  const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("kill harness: kills=%d signatures=%llu retries_ok=%llu refusals=%llu unavailable=%llu "
              "unanswered_refused_by_device=%llu regressions=%llu double_signed=%llu seconds=%.1f\n",
              kills, static_cast<unsigned long long>(n.signatures.load()),
              static_cast<unsigned long long>(n.retries_ok.load()), static_cast<unsigned long long>(n.refusals.load()),
              static_cast<unsigned long long>(n.unavailable.load()),
              static_cast<unsigned long long>(n.unanswered_refused.load()),
              static_cast<unsigned long long>(n.regressions.load()), static_cast<unsigned long long>(n.double_signed),
              secs);
  EXPECT_GE(kills, min_kills);
  EXPECT_GE(n.signatures.load(), std::max<std::uint64_t>(min_signatures, 100));
  EXPECT_GT(n.retries_ok.load(), 0u);
  EXPECT_EQ(n.regressions.load(), 0u);
  EXPECT_EQ(n.double_signed, 0u);
}
