// Starts pisignerd (with `keys` soft Ed25519 keys, bootstrap1 first) and the baseline server as the
// other benchmarks do, prints what a client in another language needs, and keeps both running until
// its standard input closes. The Python client (bench/http_client.py) drives the servers through it.
//
// Output, one line each:  "pisignerd <port> <pid>", "baseline <port> <pid>", "key <pkh>"..., "ready".
// Usage: bench_serve [--pisignerd PATH] [--baseline PATH] [--keys 8]
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "support/common.hpp"

namespace pb = pisigner::bench;

int main(int argc, char** argv) {
  std::vector<std::pair<std::string, long>> opts{{"keys", 8}};
  try {
    const auto bin = pb::parse_args(argc, argv, opts);
    std::vector<pb::SoftKeySpec> keys{pb::bootstrap1()};
    while (static_cast<long>(keys.size()) < opts[0].second) keys.push_back(pb::generate_ed25519_key());
    pb::WorkDir dir;
    auto daemon = pb::start_pisignerd(bin, dir.path(), keys);
    auto baseline = pb::start_baseline(bin, dir.path());
    std::printf("pisignerd %u %d\nbaseline %u %d\n", daemon.port, static_cast<int>(daemon.child->pid()), baseline.port,
                static_cast<int>(baseline.child->pid()));
    for (const auto& k : keys) std::printf("key %s\n", k.pkh.c_str());
    std::printf("ready\n");
    std::fflush(stdout);
    std::string line;
    while (std::getline(std::cin, line)) {
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_serve: %s\n", e.what());
    return 1;
  }
}
