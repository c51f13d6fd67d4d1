// The two-Pi fleet on one machine, for the end-to-end failover tests: a three-member etcd cluster
// (TLS, RBAC), two pisignerd each with its own virtual Ledger on the same seed and the shared
// watermark, their UPS on fake sysfs trees and their uplink monitors on test NetworkManager and
// ModemManager services (a private dbus-daemon per Pi), and Debian's haproxy running the config the
// signer_proxy role renders. Each Pi (its
// pisignerd, Ledger and etcd member) and the proxy host (HAProxy, the third member) has its own
// network namespace; each Pi reaches the proxy, and the other Pi, over its own veth link (its
// "tunnel"), which the test can take down (FleetNetwork).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "private_bus.hpp"
#include "support/daemon.hpp"
#include "support/etcd_cluster.hpp"
#include "support/network.hpp"
#include "support/vledger.hpp"
#include "test_services.hpp"

namespace pisigner::testing {

// The HAProxy check timing the role ships (ansible/roles/signer_proxy/defaults/main.yml).
struct CheckTiming {
  int inter_ms = 500;
  int fastinter_ms = 250;  // also the interval while a server goes back up
  int rise = 6;
};

class Fleet {
 public:
  Fleet();  // starts everything; failures are test failures (check ready())
  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  bool ready() const { return ready_; }
  // HAProxy's frontend, as the baker reaches it.
  std::uint16_t proxy_port() const { return haproxy_port_; }
  static std::string proxy_host() { return FleetNetwork::frontend_address(); }
  // Direct client to Pi i (0 = pi1, the primary), bypassing HAProxy (not while its tunnel is down).
  HttpClient pi_client(int i) const { return HttpClient(port_[i], FleetNetwork::pi_address(i)); }
  // http://<address>:<port> of Pi i's signer over its tunnel.
  std::string pi_url(int i) const { return "http://" + FleetNetwork::pi_address(i) + ":" + std::to_string(port_[i]); }
  EtcdCluster& cluster() { return *cluster_; }
  // `pisigner-vledger ctl <cmd> [arg]` on Pi i's virtual Ledger (in the Pi's namespace).
  void ledger_ctl(int i, const std::string& cmd, const std::string& arg = "");
  // argv prefix that runs a command on the proxy host (its namespace).
  std::vector<std::string> in_proxy() const { return net_->in_proxy(); }
  void set_tunnel(int i, bool up) { net_->set_tunnel(i, up); }
  const CheckTiming& timing() const { return timing_; }

  // The Pi's UPS (a fake power_supply class tree, read every second): mains or battery at a
  // charge; at or below 20 % on battery the UPS is critical and /authorized turns red.
  void set_power(int i, bool mains, int charge_percent);
  // The Pi's uplink, as its (test) NetworkManager and ModemManager tell its uplink monitor: the wired
  // link's connectivity, and whether activating LTE can succeed. The tunnel is separate (set_tunnel).
  void set_wired(int i, bool connected);
  void set_lte_available(int i, bool available);
  bool lte_active(int i) const;  // the monitor asked NetworkManager for LTE and it is up
  void kill_pi(int i);   // SIGKILL pisignerd
  void start_pi(int i);  // (re)start it on its port with its store
  // HAProxy's operational state of server "pi<i+1>" from the stats socket: true when UP.
  bool server_up(int i);
  bool wait_server_up(int i, bool up, std::chrono::milliseconds limit);
  std::string haproxy_log() const;
  std::string pi_log(int i) const;  // what Pi i's pisignerd wrote (its last run)
  const std::filesystem::path& stats_socket() const { return stats_socket_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  // One command on HAProxy's stats socket (what `socat stdio <socket>` does); its whole answer.
  std::string stats_command(const std::string& command) const;

 private:
  std::string pi_config(int i) const;
  bool start_haproxy();

  TempDir dir_{"fleet"};
  std::unique_ptr<FleetNetwork> net_;  // first in, last out: everything else lives in it
  std::unique_ptr<EtcdCluster> cluster_;
  std::unique_ptr<Vledger> ledger_[2];
  std::filesystem::path power_[2];
  std::uint16_t port_[2] = {0, 0};
  std::uint16_t health_port_[2] = {0, 0};  // server.health_listen: HAProxy's check port
  // Each Pi's system bus with its NetworkManager and ModemManager (one LTE modem); outlive pi_.
  std::unique_ptr<hal::testing::PrivateBus> bus_[2];
  std::unique_ptr<hal::testing::TestNetworkManager> nm_[2];
  std::unique_ptr<hal::testing::TestModemManager> mm_[2];
  std::unique_ptr<Daemon> pi_[2];
  std::unique_ptr<Process> haproxy_;
  std::uint16_t haproxy_port_ = 0;
  std::filesystem::path stats_socket_;
  CheckTiming timing_;
  bool ready_ = false;
};

// One signature the fleet released, as the client saw it.
struct Released {
  std::chrono::steady_clock::time_point at;
  std::string kind;
  int level = 0;
  std::string server;  // X-Pisigner-Server: pi1 / pi2
};

// A baker-like client: a stream of blocks, preattestations and attestations at rising levels
// (round 0) through HAProxy. Like octez's baker it resends a request that got no answer or a 5xx
// other than 500 (HAProxy gave up), and never one that got 500 (a refusal).
class Baker {
 public:
  // keep_alive: one connection for the stream. per_request: a new connection for each request, as
  // octez's remote-signer client makes (cohttp-lwt-unix's Client.call).
  enum class Connections { keep_alive, per_request };
  Baker(std::string proxy_host, std::uint16_t proxy_port, Connections connections = Connections::keep_alive);
  ~Baker();  // stops the stream
  void stop();
  std::vector<Released> released() const;
  int refusals() const;  // 500s the stream got (must be none: each slot is asked once)
  std::string last_refusal() const;

 private:
  void run();
  std::string host_;
  std::uint16_t port_;
  Connections connections_;
  mutable std::mutex mu_;
  std::vector<Released> released_;
  int refusals_ = 0;
  std::string last_refusal_;
  bool stop_ = false;
  std::thread thread_;
};

// Payload of `kind` at level/round, variant 0 = the baker's own.
std::string payload_hex(const std::string& kind, int level, int round, std::uint8_t variant);
inline const std::vector<std::string> kKinds = {"block", "preattestation", "attestation"};

// Every payload any Pi signed, keyed by slot, to prove no slot got two different payloads.
class SlotBook {
 public:
  void add(const std::string& kind, int level, int round, const std::string& payload);
  // Slots with more than one payload signed, as text (empty when none).
  std::vector<std::string> conflicts() const;

 private:
  std::map<std::tuple<std::string, int, int>, std::vector<std::string>> slots_;
};

}  // namespace pisigner::testing
