#include "daemon.hpp"

#include <csignal>
#include <fstream>
#include <gtest/gtest.h>
#include <random>
#include <sstream>

#include "pisigner/config/config.hpp"
#include "pisigner/hwm/store.hpp"

namespace pisigner::testing {

std::string pisignerd_path() { return PISIGNERD_PATH; }
std::string pisignerctl_path() { return PISIGNERCTL_PATH; }

TempDir::TempDir(const std::string& name) {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("pisigner-test-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
  std::filesystem::remove_all(path_, ec);
}

std::string basic_config(const std::filesystem::path& dir, const std::string& extra) {
  std::ostringstream s;
  s << "[server]\nlisten = [\"127.0.0.1:0\"]\nadmin_listen = [\"127.0.0.1:0\"]\n"
    << "[store]\npath = \"" << (dir / "store").string() << "\"\n"
    << "[health]\ninterval_ms = 200\n"
    << extra << "\n"
    << "[[key]]\nbackend = \"soft\"\nsecret_key = \"" << kBootstrap1Sk << "\"\n";
  return s.str();
}

void write_config(const std::filesystem::path& file, const std::string& text) {
  {
    std::ofstream f(file);
    f << text;
  }
  std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

void init_store(const std::string& config) {
  auto cfg = config::parse(config, "pisigner.toml");
  if (!cfg) return;  // pisignerd reports the broken config itself
  const auto& store = cfg->store.path;
  if (std::filesystem::exists(store / hwm::kDatabaseFile)) return;
  auto [rc, out] = run_command({pisignerctl_path(), "hwm", "init", "--store", store.string()});
  if (rc != 0) ADD_FAILURE() << "pisignerctl hwm init --store " << store << ": " << out;
}

Daemon::Daemon(const std::filesystem::path& dir, const std::string& config) : dir_(dir) {
  write_config(dir / "pisigner.toml", config);
  init_store(config);
  proc_ = std::make_unique<Process>(
      std::vector<std::string>{pisignerd_path(), "-c", (dir / "pisigner.toml").string(), "--print-ports"},
      (dir / "pisignerd.log").string());
  auto line = proc_->wait_line("LISTENING ", std::chrono::seconds(20));
  if (!line) {
    ADD_FAILURE() << "pisignerd did not start:\n" << log();
    return;
  }
  port_ = static_cast<std::uint16_t>(std::stoi(line->substr(10)));
  if (auto a = line->find(" ADMIN "); a != std::string::npos) {
    admin_port_ = static_cast<std::uint16_t>(std::stoi(line->substr(a + 7)));
  }
  if (auto h = line->find(" HEALTH "); h != std::string::npos) {
    health_port_ = static_cast<std::uint16_t>(std::stoi(line->substr(h + 8)));
  }
}

Daemon::~Daemon() {
  if (proc_ && proc_->running()) stop();
}

int Daemon::stop() {
  proc_->signal(SIGTERM);
  auto st = proc_->wait(std::chrono::seconds(15));
  if (!st) {
    ADD_FAILURE() << "pisignerd did not stop on SIGTERM";
    proc_->signal(SIGKILL);
    st = proc_->wait(std::chrono::seconds(5));
  }
  return st.value_or(-1);
}

void Daemon::kill9() {
  proc_->signal(SIGKILL);
  proc_->wait(std::chrono::seconds(5));
}

std::string Daemon::log() const {
  std::ifstream f(dir_ / "pisignerd.log");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

namespace {
std::string be32(std::int32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<std::uint32_t>(v));
  return buf;
}
std::string byte(std::uint8_t v) {
  char buf[3];
  std::snprintf(buf, sizeof buf, "%02x", v);
  return buf;
}
constexpr const char* kChain = "ed9d217c";
constexpr const char* kBranch = "fc81eee810737b04018acef4db74d056b79edc43e6be46cae7e4c217c22a82f0";
}  // namespace

std::string attestation_hex(std::int32_t level, std::int32_t round, std::uint8_t variant) {
  return std::string("13") + kChain + kBranch + "15" + "0012" + be32(level) + be32(round) + byte(variant) +
         "e7ea1f67dbb0bb6cfa372cb092cd9cf786b4f1b5e5139da95b915fb95e698d";
}

std::string preattestation_hex(std::int32_t level, std::int32_t round, std::uint8_t variant) {
  return std::string("12") + kChain + kBranch + "14" + "0012" + be32(level) + be32(round) + byte(variant) +
         "e7ea1f67dbb0bb6cfa372cb092cd9cf786b4f1b5e5139da95b915fb95e698d";
}

std::string block_hex(std::int32_t level, std::int32_t round, std::uint8_t variant) {
  // shell header: level, proto, predecessor, timestamp, validation passes, operations hash, fitness.
  std::string h = std::string("11") + kChain + be32(level) + "01" + std::string(64, 'a') + "0000000061947af5" + "04" +
                  std::string(64, 'b');
  h += "00000021" "00000001" "02" "00000004" + be32(level) + "00000000" "00000004" "ffffffff" "00000004" + be32(round);
  h += std::string(64, 'c') + byte(variant) + std::string(62, 'd') + "00000000" + "0000000000000000" + "00" + "00";
  return h;
}

}  // namespace pisigner::testing
