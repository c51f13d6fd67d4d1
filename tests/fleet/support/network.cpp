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
  proxy_ns_ = "pisigner-fleet-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 100000);
  ip({"netns", "add", proxy_ns_});
  try {
    setup_links();
  } catch (...) {
    run_command({"/usr/sbin/ip", "netns", "del", proxy_ns_});
    proxy_ns_.clear();
    throw;
  }
}

void FleetNetwork::setup_links() {
  ip({"-n", proxy_ns_, "link", "set", "lo", "up"});
  auto link = [&](const std::string& name, const std::string& home, const std::string& proxy) {
    ip({"link", "add", name, "type", "veth", "peer", "name", name + "p", "netns", proxy_ns_});
    ip({"addr", "add", home + "/30", "dev", name});
    ip({"link", "set", name, "up"});
    ip({"-n", proxy_ns_, "addr", "add", proxy + "/30", "dev", name + "p"});
    ip({"-n", proxy_ns_, "link", "set", name + "p", "up"});
  };
  for (int i = 0; i < 2; ++i) link(link_name(i), pi_address(i), proxy_address_towards_pi(i));
  link("fl-baker", baker_address(), frontend_address());
}

FleetNetwork::~FleetNetwork() {
  if (!proxy_ns_.empty()) run_command({"/usr/sbin/ip", "netns", "del", proxy_ns_});
}

void FleetNetwork::set_tunnel(int i, bool up) { ip({"link", "set", link_name(i), up ? "up" : "down"}); }

}  // namespace pisigner::testing
