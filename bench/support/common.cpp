#include "common.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>
#include <stdexcept>

#include "pisigner/crypto/signing.hpp"
#include "pisigner/tezos/keys.hpp"
#include "pisigner/tezos/secret_key.hpp"

namespace pisigner::bench {

namespace fs = std::filesystem;

namespace {
std::string be32(std::int32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<std::uint32_t>(v));
  return buf;
}
constexpr const char* kChain = "ed9d217c";  // NetXxkAx4woPLyu
constexpr const char* kBranch = "fc81eee810737b04018acef4db74d056b79edc43e6be46cae7e4c217c22a82f0";
constexpr const char* kBlockPayloadHash = "e7ea1f67dbb0bb6cfa372cb092cd9cf786b4f1b5e5139da95b915fb95e698d";
}  // namespace

std::string attestation_hex(std::int32_t level, std::int32_t round) {
  // magic, chain, branch, tag, slot, level, round, block payload hash (as tests/integration uses).
  return std::string("13") + kChain + kBranch + "15" + "0012" + be32(level) + be32(round) + "00" + kBlockPayloadHash;
}

SoftKeySpec bootstrap1() {
  return {"unencrypted:edsk3gUfUPyBSfrS9CCgmCiQsTCHGkviBDusMxDJstFtojtc1zcpsh", "tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx"};
}

SoftKeySpec generate_ed25519_key() {
  auto sk = crypto::SecretKey::generate(crypto::Curve::Ed25519);
  auto pk = tezos::PublicKey::from_raw(sk.curve(), sk.public_key());
  if (!pk) throw std::runtime_error("generated key has no Tezos public key");
  return {tezos::encode_secret_key(sk), pk->hash().to_b58()};
}

WorkDir::WorkDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/pisigner-bench-XXXXXX";
  if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp " + templ + " failed");
  path_ = templ;
}

WorkDir::~WorkDir() {
  std::error_code ec;
  if (!keep_) fs::remove_all(path_, ec);
}

Binaries parse_args(int argc, char** argv, std::vector<std::pair<std::string, long>>& ints) {
  Binaries b;
#ifdef PISIGNERD_PATH
  b.pisignerd = PISIGNERD_PATH;
#endif
#ifdef BASELINE_PATH
  b.baseline = BASELINE_PATH;
#endif
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (i + 1 >= argc || name.rfind("--", 0) != 0) throw std::invalid_argument("expected --name VALUE at " + name);
    const std::string value = argv[++i];
    if (name == "--pisignerd") {
      b.pisignerd = value;
      continue;
    }
    if (name == "--baseline") {
      b.baseline = value;
      continue;
    }
    auto it = std::find_if(ints.begin(), ints.end(), [&](const auto& p) { return "--" + p.first == name; });
    if (it == ints.end()) throw std::invalid_argument("unknown option " + name);
    it->second = std::stol(value);
  }
  if (b.pisignerd.empty() || b.baseline.empty()) throw std::invalid_argument("--pisignerd and --baseline are required");
  return b;
}

Running start_pisignerd(const Binaries& bin, const fs::path& dir, const std::vector<SoftKeySpec>& keys,
                        const std::string& extra_toml) {
  const fs::path config = dir / "pisigner.toml";
  {
    std::ofstream f(config);
    // Defaults everywhere else (io/sign threads, health interval, log level info): what a baker runs.
    // For experiments: PISIGNER_BENCH_SERVER_TOML adds lines to [server] (e.g. "io_threads = 1"),
    // PISIGNER_BENCH_EXTRA_TOML adds tables (e.g. "[log]\nlevel = \"warn\"").
    const char* server_extra = std::getenv("PISIGNER_BENCH_SERVER_TOML");
    const char* extra = std::getenv("PISIGNER_BENCH_EXTRA_TOML");
    // Ephemeral ports for the admin API too: the throughput benchmark runs two daemons at once.
    f << "[server]\nlisten = [\"127.0.0.1:0\"]\nadmin_listen = [\"127.0.0.1:0\"]\n" << (server_extra ? server_extra : "") << "\n[store]\npath = \""
      << (dir / "store").string() << "\"\n" << (extra ? extra : "") << "\n" << extra_toml << "\n";
    for (const auto& k : keys) f << "\n[[key]]\nbackend = \"soft\"\nsecret_key = \"" << k.secret_uri << "\"\n";
    if (!f) throw std::runtime_error("cannot write " + config.string());
  }
  fs::permissions(config, fs::perms::owner_read | fs::perms::owner_write);  // pisignerd refuses a world-readable secret_key
  init_store(bin.pisignerd, dir / "store");
  Running r;
  r.child = std::make_unique<Child>(std::vector<std::string>{bin.pisignerd, "-c", config.string(), "--print-ports"},
                                    (dir / "pisignerd.log").string());
  try {
    r.port = r.child->wait_port(std::chrono::seconds(30));
  } catch (const std::runtime_error& e) {
    std::ifstream log(dir / "pisignerd.log");
    std::stringstream text;
    text << log.rdbuf();
    throw std::runtime_error(std::string(e.what()) + "\n" + text.str());
  }
  return r;
}

void init_store(const std::string& pisignerd, const fs::path& store) {
  if (fs::exists(store / "hwm.sqlite")) return;
  const fs::path ctl = fs::path(pisignerd).parent_path() / "pisignerctl";
  // Appended piece by piece: GCC 12 at -O3 misreads "'" + std::string as an overlapping copy.
  std::string cmd = "'";
  cmd += ctl.string();
  cmd += "' hwm init --store '";
  cmd += store.string();
  cmd += "' >/dev/null";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
}

Running start_baseline(const Binaries& bin, const fs::path& dir) {
  fs::create_directories(dir / "baseline");
  Running r;
  r.child = std::make_unique<Child>(std::vector<std::string>{bin.baseline, "--db", (dir / "baseline" / "hwm.db").string()},
                                    (dir / "baseline.log").string());
  r.port = r.child->wait_port(std::chrono::seconds(30));
  return r;
}

Percentiles percentiles(std::vector<double> s) {
  Percentiles p;
  if (s.empty()) return p;
  std::sort(s.begin(), s.end());
  // Nearest-rank percentile.
  auto at = [&](double q) {
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(s.size())));
    return s[std::min(s.size() - 1, rank == 0 ? 0 : rank - 1)];
  };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.max = s.back();
  return p;
}

const char* verdict(double value, double limit, bool higher_is_better) {
  return (higher_is_better ? value >= limit : value <= limit) ? "PASS" : "MISS";
}

void summary_line(const std::string& metric, const std::string& pisignerd, const std::string& baseline,
                  const std::string& ratio, const std::string& target, const std::string& verdict) {
  std::printf("SUMMARY|%s|%s|%s|%s|%s|%s\n", metric.c_str(), pisignerd.c_str(), baseline.c_str(), ratio.c_str(),
              target.c_str(), verdict.c_str());
}

std::string fmt(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

double cpu_seconds(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start at ") "; utime and stime are the
  // 12th and 13th from there (fields 14 and 15 of proc(5)).
  const auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 1; i <= 13 && rest >> field; ++i) {
    if (i >= 12) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace pisigner::bench
