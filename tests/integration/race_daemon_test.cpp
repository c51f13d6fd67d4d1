// Many threads against one pisignerd at once: signers on a soft key, two signers racing different
// payloads into the same slots of a Ledger key (the real virtual Ledger), readers of /authorized,
// /metrics and the keys, and health probes every 50 ms contending for the device. The ThreadSanitizer
// part of ./dev test runs it against pisignerd built with TSan (tests/tsan/).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "support/daemon.hpp"
#include "support/vledger.hpp"

using namespace pisigner::testing;
using namespace std::chrono_literals;

namespace {

constexpr int kLevels = 30;

std::string race_config(const std::filesystem::path& dir, int apdu_port) {
  return basic_config(dir, "") + "[[key]]\nbackend = \"ledger\"\ndevice = \"tcp://127.0.0.1:" +
         std::to_string(apdu_port) + "\"\npath = \"" + kLedgerPath +
         "\"\ncurve = \"ed25519\"\npkh = \"" + kZebraTz1 + "\"\ntimeout_ms = 5000\n";
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string with_health_interval(std::string cfg, const char* interval) {
  const std::string from = "interval_ms = 200";
  cfg.replace(cfg.find(from), from.size(), std::string("interval_ms = ") + interval);
  return cfg;
}

}  // namespace

TEST(RaceDaemon, SignersRacersReadersAndProbesOnOneDaemon) {
  Vledger v;
  TempDir dir("race-daemon");
  Daemon d(dir.path(), with_health_interval(race_config(dir.path(), v.apdu_port()), "50"));
  ASSERT_NE(d.port(), 0);
  {
    auto c = d.client();
    for (int i = 0; i < 200 && c.get("/authorized").status != 200; ++i) std::this_thread::sleep_for(50ms);
    ASSERT_EQ(c.get("/authorized").status, 200) << c.get("/authorized").body;
  }

  // Each signer owns one kind on the soft key at increasing levels: every request must succeed.
  // (The Ledger keeps one watermark across kinds, so interleaved kinds there would be refusals.)
  struct Stream {
    std::string pkh;
    std::string (*payload)(std::int32_t, std::int32_t, std::uint8_t);
  };
  const std::vector<Stream> streams = {{kBootstrap1Pkh, &attestation_hex},
                                       {kBootstrap1Pkh, &preattestation_hex},
                                       {kBootstrap1Pkh, &block_hex}};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  std::vector<std::string> failures(streams.size());
  for (std::size_t i = 0; i < streams.size(); ++i) {
    threads.emplace_back([&, i] {
      auto c = d.client();
      for (int level = 1; level <= kLevels; ++level) {
        auto r = c.post("/keys/" + streams[i].pkh, quoted(streams[i].payload(level, 0, 0)));
        if (r.status != 200) {
          failures[i] = "level " + std::to_string(level) + ": " + std::to_string(r.status) + " " + r.body;
          return;
        }
      }
    });
  }

  // Two racers post different attestations for the Ledger key at the same levels: at most one
  // payload per level may ever be signed.
  std::mutex signed_mu;
  std::map<int, int> signed_per_level;
  for (std::uint8_t variant : {1, 2}) {
    threads.emplace_back([&, variant] {
      auto c = d.client();
      for (int level = 1; level <= kLevels; ++level) {
        auto r = c.post(std::string("/keys/") + kZebraTz1, quoted(attestation_hex(level, 0, variant)));
        if (r.status == 200) {
          std::lock_guard lock(signed_mu);
          ++signed_per_level[level];
        }
      }
    });
  }

  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (const char* target : {"/authorized", "/metrics", "/keys/tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E"}) {
    readers.emplace_back([&, target] {
      auto c = d.client();
      while (!done) {
        if (c.get(target).status == 0) return;
        ++reads;
      }
    });
  }

  for (auto& t : threads) t.join();
  done = true;
  for (auto& t : readers) t.join();

  for (std::size_t i = 0; i < streams.size(); ++i) EXPECT_EQ(failures[i], "") << "stream " << i << "\n" << d.log();
  int racer_signatures = 0;
  for (const auto& [level, n] : signed_per_level) {
    EXPECT_EQ(n, 1) << "two payloads signed at level " << level;
    racer_signatures += n;
  }
  EXPECT_GT(racer_signatures, 0);
  EXPECT_GT(reads.load(), 0);
  // A clean stop with every thread of the daemon having run: exit 0 (a sanitizer report would be 86).
  EXPECT_EQ(d.stop(), 0) << d.log();
}
