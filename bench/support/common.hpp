// What the benchmark drivers share: payloads, pisignerd config, the two servers, statistics, output.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "child.hpp"

namespace pisigner::bench {

// Attestation (magic 0x13, tag 0x15) on chain NetXxkAx4woPLyu at `level`/`round`, as hex.
std::string attestation_hex(std::int32_t level, std::int32_t round);

// A soft key for pisignerd's config: octez secret-key URI and its tz address.
struct SoftKeySpec {
  std::string secret_uri;
  std::string pkh;
};
SoftKeySpec bootstrap1();
SoftKeySpec generate_ed25519_key();

// A fresh directory under $TMPDIR (default /tmp), removed on destruction unless keep() was called.
class WorkDir {
 public:
  WorkDir();
  ~WorkDir();
  const std::filesystem::path& path() const { return path_; }
  void keep() { keep_ = true; }

 private:
  std::filesystem::path path_;
  bool keep_ = false;
};

// Paths of the binaries, from the command line or the build tree.
struct Binaries {
  std::string pisignerd;
  std::string baseline;
};
// Parses "--pisignerd PATH --baseline PATH" and plain "--name VALUE" integers into `ints`
// (only names already present are accepted); throws std::invalid_argument on anything else.
Binaries parse_args(int argc, char** argv, std::vector<std::pair<std::string, long>>& ints);

// Starts pisignerd with `keys` (store in dir/store, log level from the packaged default) and
// returns it with its port. `extra_toml` adds tables (e.g. a [cluster] section).
struct Running {
  std::unique_ptr<Child> child;
  std::uint16_t port = 0;
};
Running start_pisignerd(const Binaries& bin, const std::filesystem::path& dir, const std::vector<SoftKeySpec>& keys,
                        const std::string& extra_toml = {});
// `pisignerctl hwm init --store DIR` (pisignerctl beside `pisignerd`): pisignerd never creates its
// store. Throws std::runtime_error when init fails.
void init_store(const std::string& pisignerd, const std::filesystem::path& store);
Running start_baseline(const Binaries& bin, const std::filesystem::path& dir);

// Latency percentiles in microseconds.
struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};
Percentiles percentiles(std::vector<double> samples_us);

// "PASS"/"MISS" for a measured ratio against a limit (lower is better unless `higher_is_better`).
const char* verdict(double value, double limit, bool higher_is_better = false);

// One machine-readable line for scripts/bench.sh: "SUMMARY|<metric>|<pisignerd>|<baseline>|<ratio>|<target>|<verdict>".
void summary_line(const std::string& metric, const std::string& pisignerd, const std::string& baseline,
                  const std::string& ratio, const std::string& target, const std::string& verdict);

std::string fmt(double v, int decimals);

// CPU time (user + system, all threads) the process `pid` has used so far, from /proc/<pid>/stat;
// 0 if it cannot be read.
double cpu_seconds(int pid);

using Clock = std::chrono::steady_clock;
inline double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

}  // namespace pisigner::bench
