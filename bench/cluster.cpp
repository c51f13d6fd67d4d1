// The shared watermark's cost: sign latency through pisignerd with its etcd step, beside the bare
// CAS txn a minimal client makes on the same three-member loopback cluster (TLS, auth) in the same
// run, and beside a single-Pi pisignerd; then throughput with 8 clients on 8 keys, and the etcd
// members' RSS after the run.
//
// Usage: bench_cluster [--pisignerd PATH] [--baseline PATH] [--samples 1000] [--seconds 5]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "pisigner/hwm/etcd/client.hpp"
#include "support/client.hpp"
#include "support/common.hpp"
#include "support/daemon.hpp"
#include "support/etcd_cluster.hpp"

namespace pb = pisigner::bench;
namespace pt = pisigner::testing;
namespace etcd = pisigner::hwm::etcd;

namespace {

etcd::ClientOptions client_options(const pt::EtcdCluster& c) {
  etcd::ClientOptions o;
  o.endpoints = c.endpoints();
  o.ca_file = c.ca_file();
  o.cert_file = c.client_cert();
  o.key_file = c.client_key();
  o.user = c.user();
  o.password = c.password();
  return o;
}

std::string cluster_toml(const pt::EtcdCluster& c, const std::string& node) {
  std::string endpoints;
  for (const auto& e : c.endpoints()) endpoints += (endpoints.empty() ? "\"" : ", \"") + e + "\"";
  return "[cluster]\nendpoints = [" + endpoints + "]\nca_file = \"" + c.ca_file() + "\"\ncert_file = \"" +
         c.client_cert() + "\"\nkey_file = \"" + c.client_key() + "\"\nuser = \"" + c.user() +
         "\"\npassword_file = \"" + c.password_file() + "\"\nnode = \"" + node + "\"\n";
}

// The bare txn: the CAS a signature costs, made by the etcd client alone on a key of its own.
pb::Percentiles bare_cas(const pt::EtcdCluster& c, int samples) {
  auto client = etcd::Client::create(client_options(c));
  if (!client) throw std::runtime_error(client.error());
  auto current = (*client)->get("/pisigner/hwm/bench/bare");
  if (!current) throw std::runtime_error("read failed: " + current.error().message);
  std::int64_t rev = *current ? (*current)->mod_revision : 0;
  std::vector<double> us;
  for (int i = -100; i < samples; ++i) {  // the first 100 warm up
    const auto t0 = pb::Clock::now();
    auto r = (*client)->cas("/pisigner/hwm/bench/bare", rev, "{\"v\":1,\"level\":" + std::to_string(i + 200) + "}");
    const auto t1 = pb::Clock::now();
    if (!r || !r->succeeded) throw std::runtime_error("bare CAS failed");
    rev = r->header.revision;
    if (i >= 0) us.push_back(pb::micros(t1 - t0));
  }
  return pb::percentiles(us);
}

// Signs `samples` attestations at levels from `first_level` on (plus 100 to warm up).
pb::Percentiles sequential(std::uint16_t port, const std::string& pkh, int samples, std::int32_t first_level) {
  pb::SignClient client(port);
  std::string reply;
  std::vector<double> us;
  for (int i = -100; i < samples; ++i) {
    const auto t0 = pb::Clock::now();
    const int status = client.sign(pkh, pb::attestation_hex(first_level + 100 + i, 0), reply);
    const auto t1 = pb::Clock::now();
    if (status != 200) throw std::runtime_error("sign failed: " + std::to_string(status) + " " + reply);
    if (i >= 0) us.push_back(pb::micros(t1 - t0));
  }
  return pb::percentiles(us);
}

double throughput(std::uint16_t port, const std::vector<pb::SoftKeySpec>& keys, int seconds) {
  std::atomic<long> ok{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (const auto& k : keys) {
    threads.emplace_back([&, pkh = k.pkh] {
      pb::SignClient client(port);
      std::string reply;
      for (std::int32_t level = 1; !stop; ++level) {
        if (client.sign(pkh, pb::attestation_hex(level, 0), reply) == 200) ++ok;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  return static_cast<double>(ok.load()) / seconds;
}

// The same load without pisignerd: `clients` threads each CAS-ing a key of its own, one client each.
double bare_throughput(const pt::EtcdCluster& c, int clients, int seconds) {
  std::atomic<long> ok{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      auto client = etcd::Client::create(client_options(c));
      if (!client) return;
      const std::string key = "/pisigner/hwm/bench/bare" + std::to_string(i);
      auto current = (*client)->get(key);
      std::int64_t rev = current && *current ? (*current)->mod_revision : 0;
      for (long n = 0; !stop; ++n) {
        auto r = (*client)->cas(key, rev, "{\"v\":1,\"level\":" + std::to_string(n) + "}");
        if (!r || !r->succeeded) return;
        rev = r->header.revision;
        ++ok;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  return static_cast<double>(ok.load()) / seconds;
}

// The cluster's revision (it rises by one per txn or put that wrote), from any member that answers.
std::int64_t revision(const pt::EtcdCluster& c) {
  auto client = etcd::Client::create(client_options(c));
  if (!client) throw std::runtime_error(client.error());
  for (std::size_t i = 0; i < (*client)->members(); ++i) {
    const auto s = (*client)->status(i);
    if (s.reachable) return s.revision;
  }
  throw std::runtime_error("no etcd member answered a status call");
}

// RSS in MiB of every etcd process whose command line names `dir`.
std::vector<double> etcd_rss_mib(const std::filesystem::path& dir) {
  std::vector<double> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::ifstream cmd(e.path() / "cmdline");
    std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    if (args.rfind("/usr/bin/etcd", 0) != 0 || args.find(dir.string()) == std::string::npos) continue;
    std::ifstream status(e.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("VmRSS:", 0) == 0) out.push_back(std::stod(line.substr(6)) / 1024.0);
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::pair<std::string, long>> ints{{"samples", 1000}, {"seconds", 5}};
  pb::Binaries bin;
  try {
    bin = pb::parse_args(argc, argv, ints);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cluster: %s\n", e.what());
    return 2;
  }
  const int samples = static_cast<int>(ints[0].second);
  const int seconds = static_cast<int>(ints[1].second);
  try {
    pb::WorkDir work;
    std::filesystem::create_directories(work.path() / "etcd");
    pt::EtcdCluster cluster(work.path() / "etcd");
    if (!cluster.ready()) throw std::runtime_error("the etcd cluster did not form");
    for (const auto& f : {cluster.client_key(), cluster.password_file()}) {
      std::filesystem::permissions(f, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    }

    const auto key = pb::bootstrap1();
    std::filesystem::create_directories(work.path() / "with");
    std::filesystem::create_directories(work.path() / "alone");
    auto with = pb::start_pisignerd(bin, work.path() / "with", {key}, cluster_toml(cluster, "pi-a"));
    auto alone = pb::start_pisignerd(bin, work.path() / "alone", {key});

    // Interleaved in slices so that load from elsewhere lands on all three alike.
    std::vector<double> bare_p50, bare_p99, with_p50, with_p99, alone_p50, alone_p99;
    for (int slice = 0; slice < 3; ++slice) {
      auto b = bare_cas(cluster, samples / 3);
      const std::int32_t first = 1 + slice * (samples + 200);
      auto w = sequential(with.port, key.pkh, samples / 3, first);
      auto a = sequential(alone.port, key.pkh, samples / 3, first);
      bare_p50.push_back(b.p50), bare_p99.push_back(b.p99);
      with_p50.push_back(w.p50), with_p99.push_back(w.p99);
      alone_p50.push_back(a.p50), alone_p99.push_back(a.p99);
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    const double b50 = median(bare_p50), b99 = median(bare_p99), w50 = median(with_p50), w99 = median(with_p99),
                 a50 = median(alone_p50), a99 = median(alone_p99);
    std::printf("sign latency, sequential, %d samples in 3 slices (µs, median of slices)\n", samples);
    std::printf("  bare CAS txn (etcd client alone)   p50 %8.0f  p99 %8.0f\n", b50, b99);
    std::printf("  pisignerd with the cluster step     p50 %8.0f  p99 %8.0f\n", w50, w99);
    std::printf("  pisignerd on a single Pi            p50 %8.0f  p99 %8.0f\n", a50, a99);
    std::printf("  ratio to the bare txn: p50 %.2f (target <= 1.3, %s), p99 %.2f (target <= 1.5, %s)\n", w50 / b50,
                pb::verdict(w50 / b50, 1.3), w99 / b99, pb::verdict(w99 / b99, 1.5));
    pb::summary_line("cluster sign p50 / bare txn p50", pb::fmt(w50, 0), pb::fmt(b50, 0), pb::fmt(w50 / b50, 2),
                     "<= 1.3x", pb::verdict(w50 / b50, 1.3));
    pb::summary_line("cluster sign p99 / bare txn p99", pb::fmt(w99, 0), pb::fmt(b99, 0), pb::fmt(w99 / b99, 2),
                     "<= 1.5x", pb::verdict(w99 / b99, 1.5));
    pb::summary_line("cluster sign p50 / single-Pi p50", pb::fmt(w50, 0), pb::fmt(a50, 0), pb::fmt(w50 / a50, 2), "-",
                     "info");

    // Throughput: 8 clients on 8 keys through the cluster step.
    std::vector<pb::SoftKeySpec> keys;
    for (int i = 0; i < 8; ++i) keys.push_back(pb::generate_ed25519_key());
    std::filesystem::create_directories(work.path() / "eight");
    auto eight = pb::start_pisignerd(bin, work.path() / "eight", keys, cluster_toml(cluster, "pi-b"));
    const double bare_rate = bare_throughput(cluster, 8, seconds);
    const std::int64_t rev_before = revision(cluster);
    const double rate = throughput(eight.port, keys, seconds);
    const std::int64_t txns = revision(cluster) - rev_before;  // every txn that wrote (+ health probes)
    std::printf("throughput, 8 clients on 8 keys through the cluster step: %.0f signatures/s (target >= 1000, %s);\n"
                "  8 bare CAS clients on the same cluster: %.0f txn/s (ratio %.2f);\n"
                "  etcd writes during the run: %lld, %.1f signatures per write (group commit)\n",
                rate, pb::verdict(rate, 1000, true), bare_rate, bare_rate > 0 ? rate / bare_rate : 0,
                static_cast<long long>(txns), txns > 0 ? rate * seconds / static_cast<double>(txns) : 0.0);
    pb::summary_line("cluster throughput 8 keys (sig/s)", pb::fmt(rate, 0), pb::fmt(bare_rate, 0),
                     pb::fmt(bare_rate > 0 ? rate / bare_rate : 0, 2), ">= 1000", pb::verdict(rate, 1000, true));

    std::printf("etcd members' RSS after the run:");
    for (double mib : etcd_rss_mib(work.path() / "etcd")) std::printf(" %.1f MiB", mib);
    std::printf("\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cluster: %s\n", e.what());
    return 1;
  }
  return 0;
}
