// Sign latency: pisignerd against the baseline server, one keep-alive connection each, attestations at
// increasing levels. Blocks of `block` requests alternate between the two servers so machine noise
// (other builds, disk flushes) lands on both alike. Prints p50/p90/p99/max and pisignerd/baseline.
//
// Usage: bench_sign_latency [--pisignerd PATH] [--baseline PATH] [--requests 2000] [--warmup 200] [--block 100] [--keep 0|1]
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "support/client.hpp"
#include "support/common.hpp"

namespace pb = pisigner::bench;

namespace {

struct Target {
  Target(const char* n, std::uint16_t port, std::string k, int server_pid)
      : name(n), client(port), pkh(std::move(k)), pid(server_pid) {}

  const char* name;
  pb::SignClient client;
  std::string pkh;
  std::int32_t next_level = 1;
  int pid;
  std::vector<double> samples_us;
  double cpu = 0;  // server CPU seconds over the recorded blocks
  int errors = 0;
  std::string last_error;

  // Sends `n` attestations at increasing levels; records their latencies when `record`.
  void run(int n, bool record) {
    std::string reply;
    const double cpu0 = pb::cpu_seconds(pid);
    for (int i = 0; i < n; ++i) {
      const std::string payload = pb::attestation_hex(next_level++, 0);
      const auto t0 = pb::Clock::now();
      const int status = client.sign(pkh, payload, reply);
      const auto t1 = pb::Clock::now();
      if (status != 200 || reply.find("\"signature\"") == std::string::npos) {
        ++errors;
        last_error = std::to_string(status) + " " + reply;
        continue;
      }
      if (record) samples_us.push_back(pb::micros(t1 - t0));
    }
    if (record) cpu += pb::cpu_seconds(pid) - cpu0;
  }
  double cpu_per_sign_us() const { return samples_us.empty() ? 0 : 1e6 * cpu / static_cast<double>(samples_us.size()); }
};

// Alternates blocks between the two targets until each has sent `total`.
void interleave(Target& a, Target& b, int total, int block, bool record) {
  for (int sent = 0; sent < total; sent += block) {
    const int n = std::min(block, total - sent);
    a.run(n, record);
    b.run(n, record);
  }
}

void print_row(const char* name, const pb::Percentiles& p, std::size_t n, double cpu_us) {
  std::printf("  %-10s %9.1f %9.1f %9.1f %9.1f %8zu %10.1f\n", name, p.p50, p.p90, p.p99, p.max, n, cpu_us);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::pair<std::string, long>> opts{{"requests", 2000}, {"warmup", 200}, {"block", 100}, {"keep", 0}};
  try {
    const auto bin = pb::parse_args(argc, argv, opts);
    const int requests = static_cast<int>(opts[0].second);
    const int warmup = static_cast<int>(opts[1].second);
    const int block = static_cast<int>(std::max(1L, opts[2].second));

    pb::WorkDir dir;
    if (opts[3].second != 0) dir.keep();  // --keep 1: leave the stores and pisignerd.log for inspection
    const auto key = pb::bootstrap1();
    auto daemon = pb::start_pisignerd(bin, dir.path(), {key});
    auto baseline = pb::start_baseline(bin, dir.path());
    Target signer("pisignerd", daemon.port, key.pkh, daemon.child->pid());
    Target base("baseline", baseline.port, "tz1baseline", baseline.child->pid());

    std::printf("== sign latency: %d attestations per server after %d warm-up, alternating blocks of %d\n", requests,
                warmup, block);
    std::printf("   work dir %s (both stores on this file system)\n", dir.path().c_str());
    interleave(signer, base, warmup, block, false);
    interleave(signer, base, requests, block, true);

    if (signer.errors > 0 || base.errors > 0) {
      std::fprintf(stderr, "non-200 replies: pisignerd %d (last: %s), baseline %d (last: %s)\n", signer.errors,
                   signer.last_error.c_str(), base.errors, base.last_error.c_str());
      dir.keep();
      return 1;
    }
    const auto ps = pb::percentiles(signer.samples_us);
    const auto pbase = pb::percentiles(base.samples_us);
    const double cm = signer.cpu_per_sign_us();
    const double cb = base.cpu_per_sign_us();
    std::printf("  %-10s %9s %9s %9s %9s %8s %10s   (microseconds; CPU: server user+system per signature)\n", "",
                "p50", "p90", "p99", "max", "n", "CPU/sign");
    print_row("pisignerd", ps, signer.samples_us.size(), cm);
    print_row("baseline", pbase, base.samples_us.size(), cb);
    std::printf("  %-10s %9.2f %9.2f %9.2f %9.2f %8s %10.2f\n", "ratio", ps.p50 / pbase.p50, ps.p90 / pbase.p90,
                ps.p99 / pbase.p99, ps.max / pbase.max, "", cb > 0 ? cm / cb : 0);
    const double r50 = ps.p50 / pbase.p50;
    const double r99 = ps.p99 / pbase.p99;
    std::printf("  target p50 <= 1.25 x baseline: %s (%.2f)   target p99 <= 1.5 x baseline: %s (%.2f)\n",
                pb::verdict(r50, 1.25), r50, pb::verdict(r99, 1.5), r99);
    pb::summary_line("latency p50 (us)", pb::fmt(ps.p50, 1), pb::fmt(pbase.p50, 1), pb::fmt(r50, 2), "<= 1.25x",
                     pb::verdict(r50, 1.25));
    pb::summary_line("latency p90 (us)", pb::fmt(ps.p90, 1), pb::fmt(pbase.p90, 1), pb::fmt(ps.p90 / pbase.p90, 2), "-",
                     "-");
    pb::summary_line("latency p99 (us)", pb::fmt(ps.p99, 1), pb::fmt(pbase.p99, 1), pb::fmt(r99, 2), "<= 1.5x",
                     pb::verdict(r99, 1.5));
    pb::summary_line("latency max (us)", pb::fmt(ps.max, 1), pb::fmt(pbase.max, 1), pb::fmt(ps.max / pbase.max, 2), "-",
                     "-");
    const double rc = cb > 0 ? cm / cb : 0;
    pb::summary_line("CPU/sign sequential (us)", pb::fmt(cm, 1), pb::fmt(cb, 1), pb::fmt(rc, 2), "<= 1.5x",
                     pb::verdict(rc, 1.5));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_sign_latency: %s\n", e.what());
    return 1;
  }
}
