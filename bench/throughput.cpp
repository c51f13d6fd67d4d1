// Throughput: `clients` threads, one keep-alive connection each, signing attestations for `seconds`.
// Three runs, each against a fresh server process:
//   baseline        the minimal server, one thread per connection;
//   pisignerd/8key  one soft key per client, so the per-key lock does not serialise the clients;
//   pisignerd/1key  every client on one key, levels from one shared counter: a request whose level
//                   lost the race to a higher one is refused (expected), and only 200s count.
// Every 200 is a signature whose watermark was committed with fsync before the reply.
//
// Usage: bench_throughput [--pisignerd PATH] [--baseline PATH] [--clients 8] [--seconds 5]
#include <atomic>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/client.hpp"
#include "support/common.hpp"

namespace pb = pisigner::bench;

namespace {

struct RunResult {
  long ok = 0;
  long refused = 0;  // non-200 replies
  double seconds = 0;
  std::vector<double> latencies_us;
  std::map<int, long> statuses;
  std::string error;  // a connection failure voids the run
  double rate() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
};

// `pkh_for(i)` is client i's key; `level_for(i, n)` the level of client i's n-th request.
template <class PkhFor, class LevelFor>
RunResult run(std::uint16_t port, int clients, double seconds, PkhFor pkh_for, LevelFor level_for) {
  RunResult total;
  std::mutex mu;
  std::atomic<bool> go{false};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      RunResult mine;
      try {
        pb::SignClient client(port);
        const std::string pkh = pkh_for(i);
        std::string reply;
        while (!go.load()) std::this_thread::yield();
        for (long n = 0; !stop.load(std::memory_order_relaxed); ++n) {
          const std::string payload = pb::attestation_hex(level_for(i, n), 0);
          const auto t0 = pb::Clock::now();
          const int status = client.sign(pkh, payload, reply);
          const auto t1 = pb::Clock::now();
          ++mine.statuses[status];
          if (status == 200) {
            ++mine.ok;
            mine.latencies_us.push_back(pb::micros(t1 - t0));
          } else {
            ++mine.refused;
          }
        }
      } catch (const std::exception& e) {
        mine.error = e.what();
      }
      std::lock_guard lock(mu);
      total.ok += mine.ok;
      total.refused += mine.refused;
      total.latencies_us.insert(total.latencies_us.end(), mine.latencies_us.begin(), mine.latencies_us.end());
      for (auto [s, c] : mine.statuses) total.statuses[s] += c;
      if (!mine.error.empty()) total.error = mine.error;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let every client connect
  const auto t0 = pb::Clock::now();
  go = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  total.seconds = std::chrono::duration<double>(pb::Clock::now() - t0).count();
  return total;
}

void print_run(const char* name, const RunResult& r) {
  const auto p = pb::percentiles(r.latencies_us);
  std::printf("  %-15s %10.0f %9ld %9ld %9.1f %9.1f %9.1f\n", name, r.rate(), r.ok, r.refused, p.p50, p.p99, p.max);
  if (r.refused > 0) {
    std::printf("  %-15s statuses:", "");
    for (auto [s, c] : r.statuses) std::printf(" %d x%ld", s, c);
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::pair<std::string, long>> opts{{"clients", 8}, {"seconds", 5}};
  try {
    const auto bin = pb::parse_args(argc, argv, opts);
    const int clients = static_cast<int>(std::max(1L, opts[0].second));
    const double seconds = static_cast<double>(std::max(1L, opts[1].second));
    constexpr double kTarget = 2500;  // durable signatures per second

    std::vector<pb::SoftKeySpec> keys;
    for (int i = 0; i < clients; ++i) keys.push_back(pb::generate_ed25519_key());
    std::printf("== throughput: %d clients x 1 keep-alive connection, %.0f s per run\n", clients, seconds);
    std::printf("  %-15s %10s %9s %9s %9s %9s %9s\n", "", "sig/s", "200s", "non-200", "p50 us", "p99 us", "max us");

    auto own_levels = [](int, long n) { return static_cast<std::int32_t>(n + 1); };
    RunResult base;
    {
      pb::WorkDir dir;
      auto server = pb::start_baseline(bin, dir.path());
      base = run(server.port, clients, seconds, [](int) { return std::string("tz1baseline"); }, own_levels);
    }
    print_run("baseline", base);

    RunResult multi;
    {
      pb::WorkDir dir;
      auto server = pb::start_pisignerd(bin, dir.path(), keys);
      multi = run(server.port, clients, seconds, [&](int i) { return keys[static_cast<std::size_t>(i)].pkh; },
                  own_levels);
    }
    print_run("pisignerd/8key", multi);

    RunResult single;
    {
      pb::WorkDir dir;
      auto server = pb::start_pisignerd(bin, dir.path(), {keys[0]});
      std::atomic<std::int32_t> shared_level{1};
      single = run(server.port, clients, seconds, [&](int) { return keys[0].pkh; },
                   [&](int, long) { return shared_level.fetch_add(1); });
    }
    print_run("pisignerd/1key", single);

    for (const auto* r : {&base, &multi, &single}) {
      if (!r->error.empty()) throw std::runtime_error("a client failed: " + r->error);
    }
    if (base.refused > 0 || multi.refused > 0) throw std::runtime_error("non-200 replies where none are expected");

    const double ratio = multi.rate() / base.rate();
    std::printf("  ratio pisignerd/8key / baseline: %.2f   target >= %.0f sig/s: %s (%.0f)\n", ratio, kTarget,
                pb::verdict(multi.rate(), kTarget, true), multi.rate());
    std::printf("  ratio pisignerd/1key / baseline: %.2f   (1key refusals are levels that lost the race)\n",
                single.rate() / base.rate());
    pb::summary_line("throughput 8 keys (sig/s)", pb::fmt(multi.rate(), 0), pb::fmt(base.rate(), 0), pb::fmt(ratio, 2),
                     ">= 2500/s", pb::verdict(multi.rate(), kTarget, true));
    pb::summary_line("throughput 1 key (sig/s)", pb::fmt(single.rate(), 0), pb::fmt(base.rate(), 0),
                     pb::fmt(single.rate() / base.rate(), 2), "-", "-");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_throughput: %s\n", e.what());
    return 1;
  }
}
