// The fleet's network for the failover tests, in network namespaces the test creates, laid out as
// the real one (reference/etcd-hwm.md: every etcd member on its host's tunnel address):
//   - the test process moves into a private namespace, "home": the baker and the test's hands;
//   - one namespace per Pi (its pisignerd, virtual Ledger and etcd member), one for the proxy host
//     (HAProxy and the third etcd member on 10.77.0.1, the proxy's own tunnel address);
//   - Pi i's tunnel is a veth pair to the proxy (10.77.<i+1>.0/30: .2 the Pi, .1 the proxy); the
//     Pis reach each other and 10.77.0.1 only through it (the proxy forwards, as the WireGuard hub);
//   - each Pi has a LAN link to home (10.78.<i+1>.0/30) so the test can reach it with its tunnel
//     cut; home does not forward, so the Pis cannot use it to reach each other;
//   - the baker's link to the frontend (10.77.3.0/30) also carries the test's etcd calls to 10.77.0.1.
// Cutting a tunnel takes the Pi's end down: the proxy's packets (and the other members') go
// nowhere, nothing is refused. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2.
#pragma once

#include <string>
#include <vector>

namespace pisigner::testing {

class FleetNetwork {
 public:
  // Unshares the calling thread's network namespace (call it before starting any thread or
  // child that must share it), brings up loopback, creates the other namespaces and the links.
  // Throws std::runtime_error naming the command that failed.
  FleetNetwork();
  ~FleetNetwork();  // deletes the namespaces it made (and with them the links)
  FleetNetwork(const FleetNetwork&) = delete;
  FleetNetwork& operator=(const FleetNetwork&) = delete;

  static std::string pi_address(int i) { return "10.77." + std::to_string(i + 1) + ".2"; }
  static std::string proxy_address_towards_pi(int i) { return "10.77." + std::to_string(i + 1) + ".1"; }
  static std::string proxy_tunnel_address() { return "10.77.0.1"; }
  static std::string baker_address() { return "10.77.3.2"; }
  static std::string frontend_address() { return "10.77.3.1"; }

  const std::string& proxy_namespace() const { return proxy_ns_; }
  // /run/netns/<name> of Pi i's namespace and of the proxy's (for ScopedNetns).
  std::string pi_netns_path(int i) const { return "/run/netns/" + pi_ns_[i]; }
  std::string proxy_netns_path() const { return "/run/netns/" + proxy_ns_; }
  // argv prefix that runs a command inside the proxy namespace.
  std::vector<std::string> in_proxy() const { return {"/usr/sbin/ip", "netns", "exec", proxy_ns_}; }
  void set_tunnel(int i, bool up);  // Pi i's end of its tunnel

 private:
  static std::string link_name(int i) { return "fl-pi" + std::to_string(i + 1); }
  void ip(const std::vector<std::string>& args);
  void setup_links();
  void delete_namespaces();
  std::string proxy_ns_;
  std::string pi_ns_[2];
};

}  // namespace pisigner::testing
