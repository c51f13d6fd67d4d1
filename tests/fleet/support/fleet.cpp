#include "fleet.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "support/netns.hpp"

namespace pisigner::testing {
namespace {

using namespace std::chrono_literals;

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::uint16_t free_port() { return free_loopback_ports(1).front(); }

std::filesystem::path make_dir(const std::filesystem::path& p) {
  std::filesystem::create_directories(p);
  return p;
}

// The daemon polls these files: it must never read a half-written one.
void write_atomically(const std::filesystem::path& target, const std::string& value) {
  const auto tmp = target.string() + ".tmp";
  std::ofstream(tmp) << value << "\n";
  std::filesystem::rename(tmp, target);
}

}  // namespace

void Fleet::set_power(int i, bool mains, int charge_percent) {
  write_atomically(power_[i] / "AC/online", mains ? "1" : "0");
  write_atomically(power_[i] / "BAT0/status", mains ? "Charging" : "Discharging");
  write_atomically(power_[i] / "BAT0/capacity", std::to_string(charge_percent));
}

Fleet::Fleet() {
  try {
    net_ = std::make_unique<FleetNetwork>();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "the fleet's network namespaces: " << e.what();
    return;
  }
  // Each member on its host's tunnel address, in its host's namespace: a cut tunnel isolates it.
  EtcdOptions eo;
  eo.hosts = {FleetNetwork::pi_address(0), FleetNetwork::pi_address(1), FleetNetwork::proxy_tunnel_address()};
  eo.netns = {net_->pi_netns_path(0), net_->pi_netns_path(1), net_->proxy_netns_path()};
  cluster_ = std::make_unique<EtcdCluster>(make_dir(dir_.path() / "etcd"), eo);
  if (!cluster_->ready()) return;
  for (const auto& f : {cluster_->client_key(), cluster_->password_file()}) {
    std::filesystem::permissions(f, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  for (int i = 0; i < 2; ++i) {
    power_[i] = dir_.path() / ("power_supply" + std::to_string(i + 1));
    std::filesystem::create_directories(power_[i] / "AC");
    std::filesystem::create_directories(power_[i] / "BAT0");
    write_atomically(power_[i] / "AC/type", "Mains");
    write_atomically(power_[i] / "BAT0/type", "Battery");
    write_atomically(power_[i] / "BAT0/voltage_now", "8100000");
    set_power(i, true, 90);
    bus_[i] = std::make_unique<hal::testing::PrivateBus>();
    if (bus_[i]->address().empty()) {
      ADD_FAILURE() << "dbus-daemon did not start";
      return;
    }
    nm_[i] = std::make_unique<hal::testing::TestNetworkManager>(bus_[i]->address());
    mm_[i] = std::make_unique<hal::testing::TestModemManager>(bus_[i]->address());
    mm_[i]->add_modem(60);
    {
      ScopedNetns in(net_->pi_netns_path(i));
      ledger_[i] = std::make_unique<Vledger>();
    }
    port_[i] = free_port();
    health_port_[i] = free_port();
    start_pi(i);
    if (!pi_[i] || pi_[i]->port() != port_[i] || pi_[i]->health_port() != health_port_[i]) return;
  }
  ready_ = start_haproxy();
}

Fleet::~Fleet() {
  if (haproxy_) {
    haproxy_->signal(SIGTERM);
    haproxy_->wait(5s);
  }
}

std::string Fleet::pi_config(int i) const {
  // Pi 1 asks its own member first, then Pi 2's, then the cloud's (members 0, 1, 2); Pi 2 likewise.
  const std::vector<int> order = i == 0 ? std::vector<int>{0, 1, 2} : std::vector<int>{1, 0, 2};
  std::string endpoints;
  for (int m : order) endpoints += (endpoints.empty() ? "" : ", ") + quoted(cluster_->endpoint(m));
  const auto dir = dir_.path() / ("pi" + std::to_string(i + 1));
  // Health at the packaged default (1 s); the Ledger timeout as the pisigner role renders it.
  return "[server]\nlisten = [\"" + FleetNetwork::pi_address(i) + ":" + std::to_string(port_[i]) +
         "\"]\nhealth_listen = [\"" + FleetNetwork::pi_address(i) + ":" + std::to_string(health_port_[i]) +
         "\"]\nadmin_listen = []\n"
         "[store]\npath = " + quoted((dir / "store").string()) + "\n"
         "[health]\ninterval_ms = 1000\nmax_age_ms = 3000\n"
         "[cluster]\nendpoints = [" + endpoints + "]\nca_file = " + quoted(cluster_->ca_file()) +
         "\ncert_file = " + quoted(cluster_->client_cert()) + "\nkey_file = " + quoted(cluster_->client_key()) +
         "\nuser = " + quoted(cluster_->user()) + "\npassword_file = " + quoted(cluster_->password_file()) +
         "\nnode = \"pi" + std::to_string(i + 1) + "\"\ncall_timeout_ms = 700\nconnect_timeout_ms = 300\nbudget_ms = 1500\n"
         "[[key]]\nbackend = \"ledger\"\ndevice = \"tcp://127.0.0.1:" + std::to_string(ledger_[i]->apdu_port()) +
         "\"\npath = \"" + kLedgerPath + "\"\ncurve = \"ed25519\"\npkh = \"" + kZebraTz1 + "\"\ntimeout_ms = 1000\n"
         // The UPS on its fake sysfs tree; no logind (the grace period outlasts the test).
         "[ups]\nmodel = \"sysfs\"\nsysfs_root = " + quoted(power_[i].string()) + "\npoll_interval_s = 1\n"
         "min_charge_percent = 20\nmin_runtime_s = 0\ngrace_period_s = 3600\nbus = " +
         quoted("unix:path=" + (dir / "nobus").string()) + "\n"
         // The uplink monitor on the Pi's test NetworkManager/ModemManager, switching within seconds.
         "[uplink]\nenabled = true\nwired_interface = \"eth0\"\nlte_connection = \"lte\"\nfailover_after_s = 1\n"
         "failback_after_s = 2\npoll_interval_s = 1\nbus = " + quoted(bus_[i]->address()) + "\n";
}

void Fleet::ledger_ctl(int i, const std::string& cmd, const std::string& arg) {
  ScopedNetns in(net_->pi_netns_path(i));
  ledger_[i]->ctl(cmd, arg);
}

void Fleet::start_pi(int i) {
  pi_[i].reset();
  ScopedNetns in(net_->pi_netns_path(i));
  pi_[i] = std::make_unique<Daemon>(make_dir(dir_.path() / ("pi" + std::to_string(i + 1))), pi_config(i));
}

void Fleet::kill_pi(int i) { pi_[i]->kill9(); }

void Fleet::set_wired(int i, bool connected) { nm_[i]->set_wired_connectivity(connected); }
void Fleet::set_lte_available(int i, bool available) { nm_[i]->set_lte_available(available); }
bool Fleet::lte_active(int i) const { return nm_[i]->lte_active(); }

bool Fleet::start_haproxy() {
  haproxy_port_ = free_port();
  stats_socket_ = dir_.path() / "haproxy.sock";
  nlohmann::json vars = {
      {"signer_proxy_frontend_bind", FleetNetwork::frontend_address() + ":" + std::to_string(haproxy_port_)},
      {"signer_proxy_baker_sources", {FleetNetwork::baker_address() + "/32"}},
      {"signer_proxy_stats_socket", stats_socket_.string()},
      {"signer_proxy_prometheus_bind", "127.0.0.1:" + std::to_string(free_port())},
      // No syslog, chroot or privilege drop for a test run as whoever runs ctest.
      {"signer_proxy_haproxy_log", ""},
      {"signer_proxy_haproxy_chroot", ""},
      {"signer_proxy_haproxy_user", ""},
      {"signer_proxy_servers",
       {{{"name", "pi1"}, {"address", FleetNetwork::pi_address(0)}, {"port", port_[0]}, {"check_port", health_port_[0]}},
        {{"name", "pi2"}, {"address", FleetNetwork::pi_address(1)}, {"port", port_[1]}, {"check_port", health_port_[1]}}}}};
  const auto vars_file = dir_.path() / "haproxy-vars.json";
  std::ofstream(vars_file) << vars.dump();
  const auto cfg = dir_.path() / "haproxy.cfg";
  auto [rc, out] = run_command({"/usr/bin/python3", PISIGNER_SOURCE_DIR "/tests/fleet/render_template.py",
                                PISIGNER_SOURCE_DIR "/ansible/roles/signer_proxy", "haproxy.cfg.j2", cfg.string(),
                                vars_file.string()});
  if (rc != 0) {
    ADD_FAILURE() << "rendering haproxy.cfg.j2: " << out;
    return false;
  }
  // Read the timing back from the rendered file: the test holds HAProxy to what it was given.
  std::ifstream f(cfg);
  for (std::string line; std::getline(f, line);) {
    if (auto p = line.find(" inter "); p != std::string::npos && line.find("server pi1") != std::string::npos) {
      timing_.inter_ms = std::stoi(line.substr(p + 7));
      timing_.fastinter_ms = std::stoi(line.substr(line.find(" fastinter ") + 11));
      timing_.rise = std::stoi(line.substr(line.find(" rise ") + 6));
    }
  }
  auto argv = net_->in_proxy();
  argv.insert(argv.end(), {"/usr/sbin/haproxy", "-db", "-f", cfg.string()});
  haproxy_ = std::make_unique<Process>(argv, (dir_.path() / "haproxy.log").string());
  if (!wait_server_up(0, true, 10s) || !wait_server_up(1, true, 10s)) {
    ADD_FAILURE() << "haproxy did not see both Pis up:\n" << haproxy_log();
    return false;
  }
  return true;
}

std::string Fleet::stats_command(const std::string& command) const {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", stats_socket_.c_str());
  std::string out;
  const std::string line = command + "\n";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size())) {
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

bool Fleet::server_up(int i) {
  if (!std::filesystem::exists(stats_socket_)) return false;
  std::istringstream in(stats_command("show servers state signers"));
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    // be_id be_name srv_id srv_name srv_addr srv_op_state (2 = running) ...
    if (w.size() > 5 && w[1] == "signers" && w[3] == "pi" + std::to_string(i + 1)) return w[5] == "2";
  }
  return false;
}

bool Fleet::wait_server_up(int i, bool up, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (server_up(i) == up) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::string Fleet::haproxy_log() const {
  std::ifstream f(dir_.path() / "haproxy.log");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Fleet::pi_log(int i) const { return pi_[i] ? pi_[i]->log() : std::string(); }

std::string payload_hex(const std::string& kind, int level, int round, std::uint8_t variant) {
  if (kind == "block") return block_hex(level, round, variant);
  if (kind == "preattestation") return preattestation_hex(level, round, variant);
  return attestation_hex(level, round, variant);
}

Baker::Baker(std::string proxy_host, std::uint16_t proxy_port, Connections connections)
    : host_(std::move(proxy_host)), port_(proxy_port), connections_(connections), thread_([this] { run(); }) {}

Baker::~Baker() { stop(); }

void Baker::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Baker::run() {
  try {
    auto c = std::make_unique<HttpClient>(port_, host_);
    const std::string target = std::string("/keys/") + kZebraTz1;
    for (int level = 1;; ++level) {
      for (const auto& kind : kKinds) {
        const std::string body = quoted(payload_hex(kind, level, 0, 0));
        for (;;) {
          {
            std::lock_guard lock(mu_);
            if (stop_) return;
          }
          if (connections_ == Connections::per_request) c = std::make_unique<HttpClient>(port_, host_);
          auto r = c->request("POST", target, body, "application/json", 5s);
          {
            std::lock_guard lock(mu_);
            if (r.status == 200) {
              released_.push_back({std::chrono::steady_clock::now(), kind, level, r.headers["x-pisigner-server"]});
              break;
            }
            if (r.status == 500) {
              ++refusals_;
              last_refusal_ = kind + " " + std::to_string(level) + ": " + r.body;
              break;
            }
          }
          // No answer, or HAProxy found no Pi able to sign: ask again shortly.
          std::this_thread::sleep_for(20ms);
        }
      }
      std::this_thread::sleep_for(5ms);
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "baker: " << e.what();
  }
}

std::vector<Released> Baker::released() const {
  std::lock_guard lock(mu_);
  return released_;
}

int Baker::refusals() const {
  std::lock_guard lock(mu_);
  return refusals_;
}

std::string Baker::last_refusal() const {
  std::lock_guard lock(mu_);
  return last_refusal_;
}

void SlotBook::add(const std::string& kind, int level, int round, const std::string& payload) {
  auto& v = slots_[{kind, level, round}];
  for (const auto& p : v) {
    if (p == payload) return;
  }
  v.push_back(payload);
}

std::vector<std::string> SlotBook::conflicts() const {
  std::vector<std::string> out;
  for (const auto& [slot, payloads] : slots_) {
    if (payloads.size() > 1) {
      out.push_back(std::get<0>(slot) + " " + std::to_string(std::get<1>(slot)) + "/" + std::to_string(std::get<2>(slot)) +
                    ": " + std::to_string(payloads.size()) + " payloads");
    }
  }
  return out;
}

}  // namespace pisigner::testing
