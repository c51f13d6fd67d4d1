// The fleet's network for the failover tests, in network namespaces the test creates: the test
// process moves into a private namespace (the "home" side: its loopback carries etcd, the Ledgers
// and the Pis' etcd traffic), and HAProxy runs in a second one, the "proxy host". One veth pair per
// Pi is that Pi's tunnel (10.77.<pi>.0/30: .2 the Pi, .1 the proxy), one more is the baker's link
// to the frontend (10.77.3.0/30). Cutting a tunnel is taking its link down: the proxy's packets
// go nowhere, nothing is refused. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2.
#pragma once

#include <string>
#include <vector>

namespace pisigner::testing {

class FleetNetwork {
 public:
  // Unshares the calling thread's network namespace (call it before starting any thread or
  // child that must share it), brings up loopback, creates the proxy namespace and the links.
  // Throws std::runtime_error naming the command that failed.
  FleetNetwork();
  ~FleetNetwork();  // deletes the proxy namespace (and with it the links)
  FleetNetwork(const FleetNetwork&) = delete;
  FleetNetwork& operator=(const FleetNetwork&) = delete;

  static std::string pi_address(int i) { return "10.77." + std::to_string(i + 1) + ".2"; }
  static std::string proxy_address_towards_pi(int i) { return "10.77." + std::to_string(i + 1) + ".1"; }
  static std::string baker_address() { return "10.77.3.2"; }
  static std::string frontend_address() { return "10.77.3.1"; }

  const std::string& proxy_namespace() const { return proxy_ns_; }
  // argv prefix that runs a command inside the proxy namespace.
  std::vector<std::string> in_proxy() const { return {"/usr/sbin/ip", "netns", "exec", proxy_ns_}; }
  void set_tunnel(int i, bool up);  // Pi i's link, on the Pi's side

 private:
  static std::string link_name(int i) { return "fl-pi" + std::to_string(i + 1); }
  void ip(const std::vector<std::string>& args);
  void setup_links();
  std::string proxy_ns_;
};

}  // namespace pisigner::testing
