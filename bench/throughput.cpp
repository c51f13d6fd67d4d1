// Throughput: `clients` threads, one keep-alive connection each, signing attestations. Three servers
// run side by side and take turns in slices of `slice_ms` until each has had `seconds`, so a burst of
// disk or CPU load from elsewhere lands on all three alike:
//   baseline        the minimal server, one thread per connection;
//   pisignerd/8key  one soft key per client, so the per-key lock does not serialise the clients;
//   pisignerd/1key  every client on one key, levels from one shared counter: a request whose level
//                   lost the race to a higher one is refused (expected), and only 200s count.
// Every 200 is a signature whose watermark was committed with fsync before the reply.
//
// Usage: bench_throughput [--pisignerd PATH] [--baseline PATH] [--clients 8] [--seconds 5] [--slice_ms 500]
#include <atomic>
#include <cstdio>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/client.hpp"
#include "support/common.hpp"

namespace pb = pisigner::bench;

namespace {

struct Totals {
  long ok = 0;
  long refused = 0;  // non-200 replies
  double seconds = 0;
  double cpu = 0;  // server CPU seconds over its slices
  std::vector<double> latencies_us;  // of the 200s
  std::map<int, long> statuses;
  double rate() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
  double cpu_per_sign_us() const { return ok > 0 ? 1e6 * cpu / static_cast<double>(ok) : 0; }
};

// One server and its clients' connections, kept open across slices.
class Fleet {
 public:
  using LevelFor = std::function<std::int32_t(int client)>;

  Fleet(std::uint16_t port, int server_pid, std::vector<std::string> pkhs, LevelFor level_for)
      : pid_(server_pid), pkhs_(std::move(pkhs)), level_for_(std::move(level_for)) {
    for (std::size_t i = 0; i < pkhs_.size(); ++i) clients_.emplace_back(port);
  }

  // Every client signs in a loop for `duration`; adds what happened to totals().
  void run_slice(std::chrono::milliseconds duration) {
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::vector<std::thread> threads;
    const double cpu0 = pb::cpu_seconds(pid_);
    const auto t0 = pb::Clock::now();
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      threads.emplace_back([&, i] {
        Totals mine;
        std::string reply;
        try {
          while (!stop.load(std::memory_order_relaxed)) {
            const std::string payload = pb::attestation_hex(level_for_(static_cast<int>(i)), 0);
            const auto a = pb::Clock::now();
            const int status = clients_[i].sign(pkhs_[i], payload, reply);
            const auto b = pb::Clock::now();
            ++mine.statuses[status];
            if (status == 200) {
              ++mine.ok;
              mine.latencies_us.push_back(pb::micros(b - a));
            } else {
              ++mine.refused;
            }
          }
        } catch (const std::exception& e) {
          std::lock_guard lock(mu);
          error_ = e.what();
        }
        std::lock_guard lock(mu);
        totals_.ok += mine.ok;
        totals_.refused += mine.refused;
        totals_.latencies_us.insert(totals_.latencies_us.end(), mine.latencies_us.begin(), mine.latencies_us.end());
        for (auto [s, c] : mine.statuses) totals_.statuses[s] += c;
      });
    }
    std::this_thread::sleep_for(duration);
    stop = true;
    for (auto& t : threads) t.join();
    // Until the last reply: the requests in flight at the stop signal are counted, so is their time.
    totals_.seconds += std::chrono::duration<double>(pb::Clock::now() - t0).count();
    totals_.cpu += pb::cpu_seconds(pid_) - cpu0;
    if (!error_.empty()) throw std::runtime_error("a client failed: " + error_);
  }

  const Totals& totals() const { return totals_; }

 private:
  int pid_;
  std::vector<std::string> pkhs_;
  LevelFor level_for_;
  std::vector<pb::SignClient> clients_;
  Totals totals_;
  std::string error_;
};

void print_run(const char* name, const Totals& r) {
  const auto p = pb::percentiles(r.latencies_us);
  std::printf("  %-15s %10.0f %9ld %9ld %9.1f %9.1f %9.1f %10.1f\n", name, r.rate(), r.ok, r.refused, p.p50, p.p99, p.max,
              r.cpu_per_sign_us());
  if (r.refused > 0) {
    std::printf("  %-15s statuses:", "");
    for (auto [s, c] : r.statuses) std::printf(" %d x%ld", s, c);
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::pair<std::string, long>> opts{{"clients", 8}, {"seconds", 5}, {"slice_ms", 500}};
  try {
    const auto bin = pb::parse_args(argc, argv, opts);
    const int clients = static_cast<int>(std::max(1L, opts[0].second));
    const auto total = std::chrono::milliseconds(std::max(1L, opts[1].second) * 1000);
    const auto slice = std::chrono::milliseconds(std::max(50L, opts[2].second));
    constexpr double kTarget = 2500;  // durable signatures per second

    std::vector<pb::SoftKeySpec> keys;
    for (int i = 0; i < clients; ++i) keys.push_back(pb::generate_ed25519_key());
    std::vector<std::string> own_pkhs;
    for (const auto& k : keys) own_pkhs.push_back(k.pkh);

    pb::WorkDir dir_base, dir_multi, dir_single;
    auto base_server = pb::start_baseline(bin, dir_base.path());
    auto multi_server = pb::start_pisignerd(bin, dir_multi.path(), keys);
    auto single_server = pb::start_pisignerd(bin, dir_single.path(), {keys[0]});

    // Per-client level counters (each client its own key, or the baseline's one row), and one shared
    // counter for the single-key run.
    std::vector<std::int32_t> base_levels(static_cast<std::size_t>(clients), 0);
    std::vector<std::int32_t> multi_levels(static_cast<std::size_t>(clients), 0);
    std::atomic<std::int32_t> shared_level{0};
    Fleet base(base_server.port, base_server.child->pid(), std::vector<std::string>(static_cast<std::size_t>(clients), "tz1baseline"),
               [&](int i) { return ++base_levels[static_cast<std::size_t>(i)]; });
    Fleet multi(multi_server.port, multi_server.child->pid(), own_pkhs, [&](int i) { return ++multi_levels[static_cast<std::size_t>(i)]; });
    Fleet single(single_server.port, single_server.child->pid(), std::vector<std::string>(static_cast<std::size_t>(clients), keys[0].pkh),
                 [&](int) { return ++shared_level; });

    std::printf("== throughput: %d clients x 1 keep-alive connection, %.1f s per server in alternating %lld ms slices\n",
                clients, std::chrono::duration<double>(total).count(), static_cast<long long>(slice.count()));
    for (auto done = std::chrono::milliseconds(0); done < total; done += slice) {
      base.run_slice(slice);
      multi.run_slice(slice);
      single.run_slice(slice);
    }

    std::printf("  %-15s %10s %9s %9s %9s %9s %9s %10s\n", "", "sig/s", "200s", "non-200", "p50 us", "p99 us", "max us",
                "CPU/sign us");
    print_run("baseline", base.totals());
    print_run("pisignerd/8key", multi.totals());
    print_run("pisignerd/1key", single.totals());
    if (base.totals().refused > 0 || multi.totals().refused > 0) {
      throw std::runtime_error("non-200 replies where none are expected");
    }

    const double rm = multi.totals().rate();
    const double rs = single.totals().rate();
    const double rb = base.totals().rate();
    std::printf("  ratio pisignerd/8key / baseline: %.2f   target >= 1.0: %s; >= %.0f sig/s: %s (%.0f)\n", rm / rb,
                pb::verdict(rm / rb, 1.0, true), kTarget, pb::verdict(rm, kTarget, true), rm);
    std::printf("  ratio pisignerd/1key / baseline: %.2f   (1key non-200s are levels that lost the race)\n", rs / rb);
    pb::summary_line("throughput 8 keys (sig/s)", pb::fmt(rm, 0), pb::fmt(rb, 0), pb::fmt(rm / rb, 2), ">= 1.0x",
                     pb::verdict(rm / rb, 1.0, true));
    const double cm = multi.totals().cpu_per_sign_us();
    const double cb = base.totals().cpu_per_sign_us();
    const double rc = cb > 0 ? cm / cb : 0;
    std::printf("  CPU per signature pisignerd/8key / baseline: %.2f   target <= 1.5: %s\n", rc, pb::verdict(rc, 1.5));
    pb::summary_line("CPU/sign 8 keys (us)", pb::fmt(cm, 1), pb::fmt(cb, 1), pb::fmt(rc, 2), "<= 1.5x", pb::verdict(rc, 1.5));
    pb::summary_line("throughput 1 key (sig/s)", pb::fmt(rs, 0), pb::fmt(rb, 0), pb::fmt(rs / rb, 2), "-", "-");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_throughput: %s\n", e.what());
    return 1;
  }
}
