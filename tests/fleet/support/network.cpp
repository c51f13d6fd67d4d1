#include "network.hpp"

#include <sched.h>
#include <unistd.h>

#include <random>
#include <stdexcept>

#include "support/process.hpp"

namespace pisigner::testing {

void FleetNetwork::ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/usr/sbin/ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto [rc, out] = run_command(argv);
  if (rc != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error(cmd + "failed: " + out);
  }
}

FleetNetwork::FleetNetwork() {
  if (::unshare(CLONE_NEWNET) != 0) throw std::runtime_error("unshare(CLONE_NEWNET) failed: are we root?");
  ip({"link", "set", "lo", "up"});
  std::random_device rd;
  const std::string base = "pisigner-fleet-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 100000);
  try {
    proxy_ns_ = base + "-proxy";
    ip({"netns", "add", proxy_ns_});
    for (int i = 0; i < 2; ++i) {
      pi_ns_[i] = base + "-pi" + std::to_string(i + 1);
      ip({"netns", "add", pi_ns_[i]});
    }
    setup_links();
  } catch (...) {
    delete_namespaces();
    throw;
  }
}

void FleetNetwork::setup_links() {
  // A veth pair: `a` (address a_addr) in namespace a_ns ("" = home), its peer `a`p in b_ns.
  auto link = [&](const std::string& name, const std::string& a_ns, const std::string& a_addr, const std::string& b_ns,
                  const std::string& b_addr) {
    auto in = [](const std::string& ns, std::vector<std::string> args) {
      if (!ns.empty()) args.insert(args.begin(), {"-n", ns});
      return args;
    };
    ip(in(a_ns, {"link", "add", name, "type", "veth", "peer", "name", name + "p", "netns", b_ns}));
    ip(in(a_ns, {"addr", "add", a_addr + "/30", "dev", name}));
    ip(in(a_ns, {"link", "set", name, "up"}));
    ip(in(b_ns, {"addr", "add", b_addr + "/30", "dev", name + "p"}));
    ip(in(b_ns, {"link", "set", name + "p", "up"}));
  };
  ip({"-n", proxy_ns_, "link", "set", "lo", "up"});
  ip({"-n", proxy_ns_, "addr", "add", proxy_tunnel_address() + "/32", "dev", "lo"});
  ip({"netns", "exec", proxy_ns_, "/usr/sbin/sysctl", "-qw", "net.ipv4.ip_forward=1"});
  for (int i = 0; i < 2; ++i) {
    const std::string n = std::to_string(i + 1);
    ip({"-n", pi_ns_[i], "link", "set", "lo", "up"});
    link(link_name(i), pi_ns_[i], pi_address(i), proxy_ns_, proxy_address_towards_pi(i));
    // The rest of the tunnel network (the other Pi, the proxy's 10.77.0.1) is behind the proxy.
    ip({"-n", pi_ns_[i], "route", "add", "10.77.0.0/16", "via", proxy_address_towards_pi(i)});
    link("fl-lan" + n, "", "10.78." + n + ".1", pi_ns_[i], "10.78." + n + ".2");
    ip({"route", "add", "10.77." + n + ".0/30", "via", "10.78." + n + ".2"});
  }
  link("fl-baker", "", baker_address(), proxy_ns_, frontend_address());
  ip({"route", "add", proxy_tunnel_address() + "/32", "via", frontend_address()});
}

void FleetNetwork::delete_namespaces() {
  for (auto* ns : {&proxy_ns_, &pi_ns_[0], &pi_ns_[1]}) {
    if (!ns->empty()) run_command({"/usr/sbin/ip", "netns", "del", *ns});
    ns->clear();
  }
}

FleetNetwork::~FleetNetwork() { delete_namespaces(); }

void FleetNetwork::set_tunnel(int i, bool up) {
  ip({"-n", pi_ns_[i], "link", "set", link_name(i), up ? "up" : "down"});
  // Taking the link down dropped the route through it, as WireGuard's would go with its interface.
  if (up) ip({"-n", pi_ns_[i], "route", "replace", "10.77.0.0/16", "via", proxy_address_towards_pi(i)});
}

}  // namespace pisigner::testing
