// The signer_proxy role's pisigner-etcd-leader, rendered and run against the fleet: the etcd
// leader sits on the Pi HAProxy sends to, the script moves it to the proxy host's member, and a
// second run leaves it there.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/fleet.hpp"

namespace pisigner::testing {
namespace {

using namespace std::chrono_literals;

TEST(FleetEtcd, LeaderMovesOffTheSigningPi) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: the test creates network namespaces";
  Fleet fleet;
  ASSERT_TRUE(fleet.ready());
  auto& cluster = fleet.cluster();
  // The leader on pi1's member, the Pi HAProxy sends to.
  ASSERT_TRUE(cluster.move_leader(0));

  // The script as the role renders it for this fleet: pi1, pi2 and the proxy are members 0, 1, 2.
  const auto ca = fleet.dir() / "ca";
  std::filesystem::create_directories(ca);
  std::filesystem::copy_file(cluster.ca_file(), ca / "ca.crt");
  std::filesystem::copy_file(cluster.root_cert(), ca / "root.crt");
  std::filesystem::copy_file(cluster.root_key(), ca / "root.key");
  nlohmann::json hostvars;
  for (int i = 0; i < 3; ++i) {
    hostvars[i < 2 ? "pi" + std::to_string(i + 1) : "proxy"] = {{"wireguard_address", cluster.host(i)},
                                                                  {"etcd_client_port", cluster.client_port(i)}};
  }
  const nlohmann::json vars = {{"groups", {{"signers", {"pi1", "pi2"}}, {"signer_proxies", {"proxy"}}}},
                               {"hostvars", hostvars},
                               {"inventory_hostname", "proxy"},
                               {"signer_proxy_ca_dir", ca.string()},
                               {"signer_proxy_stats_socket", fleet.stats_socket().string()}};
  std::ofstream(fleet.dir() / "leader-vars.json") << vars.dump();
  const auto script = fleet.dir() / "pisigner-etcd-leader";
  auto [rc_render, out_render] =
      run_command({"/usr/bin/python3", PISIGNER_SOURCE_DIR "/tests/fleet/render_template.py",
                   PISIGNER_SOURCE_DIR "/ansible/roles/signer_proxy", "pisigner-etcd-leader.j2", script.string(),
                   (fleet.dir() / "leader-vars.json").string()});
  ASSERT_EQ(rc_render, 0) << out_render;

  // On the proxy host, as its timer runs it: every member over the tunnels.
  auto on_proxy = fleet.in_proxy();
  on_proxy.insert(on_proxy.end(), {"/bin/bash", script.string()});
  auto [rc, out] = run_command(on_proxy);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("moved the leader from pi1 to proxy"), std::string::npos) << out;
  EXPECT_EQ(cluster.wait_for_leader(10s), 2);
  // Once a leader has settled on the proxy member, the script leaves it alone.
  std::this_thread::sleep_for(500ms);
  auto [rc2, out2] = run_command(on_proxy);
  ASSERT_EQ(rc2, 0) << out2;
  EXPECT_NE(out2.find("leader is not on pi1"), std::string::npos) << out2;
  EXPECT_EQ(cluster.leader(), 2);
}

}  // namespace
}  // namespace pisigner::testing
