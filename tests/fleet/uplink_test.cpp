// The primary's uplink falls back to LTE while its tunnel holds (WireGuard roams across the switch):
// HAProxy keeps the primary, the standby signs nothing, and the switch shows where the baker looks
// (/status, the metric the SignerUplinkOnLte alert reads, pisignerctl fleet status). Losing the
// uplink entirely is a failover scenario in failover_test.cpp (UplinkLost).
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "support/fleet.hpp"

namespace pisigner::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

// Polls `ok` every 100 ms for up to `limit`.
template <typename F>
bool eventually(F ok, std::chrono::milliseconds limit = 5s) {
  const auto end = Clock::now() + limit;
  do {
    if (ok()) return true;
    std::this_thread::sleep_for(100ms);
  } while (Clock::now() < end);
  return ok();
}

json uplink_of(Fleet& f, int i) {
  const auto st = json::parse(f.pi_client(i).get("/status").body, nullptr, false);
  return st.is_object() && st.contains("uplink") ? st["uplink"] : json::object();
}

TEST(FleetUplink, LteFallbackKeepsThePrimarySigningAndShowsInStatusAndMetrics) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: the test creates network namespaces";
  Fleet fleet;
  ASSERT_TRUE(fleet.ready());
  Baker baker(fleet.proxy_host(), fleet.proxy_port());
  ASSERT_TRUE(eventually([&] { return baker.released().size() >= 30; }, 15s)) << "the stream does not flow";

  const auto wired_lost = Clock::now();
  fleet.set_wired(0, false);
  ASSERT_TRUE(eventually([&] { return fleet.lte_active(0); })) << "the uplink monitor never asked for LTE";
  EXPECT_TRUE(eventually([&] {
    const auto u = uplink_of(fleet, 0);
    return u.value("mode", "") == "lte" && u.value("lte_active", false);
  })) << uplink_of(fleet, 0).dump();
  const auto metrics = fleet.pi_client(0).get("/metrics").body;
  EXPECT_NE(metrics.find("\npisigner_uplink_active{uplink=\"lte\"} 1\n"), std::string::npos) << metrics;
  auto [rc, out] = run_command({pisignerctl_path(), "fleet", "status", "--pi", "pi1=" + fleet.pi_url(0), "--pi",
                                "pi2=" + fleet.pi_url(1), "--stats-socket", fleet.stats_socket().string()});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("pi1 is signing; pi2 waits as standby"), std::string::npos) << out;
  EXPECT_NE(out.find("uplink  lte (wired down, LTE active)"), std::string::npos) << out;

  // Long enough for HAProxy to have marked the primary down several times over had it wanted to.
  std::this_thread::sleep_for(std::chrono::milliseconds(4 * fleet.timing().inter_ms));
  EXPECT_EQ(fleet.pi_client(0).get("/authorized").status, 200) << "an uplink switch never fails /authorized";
  EXPECT_TRUE(fleet.server_up(0)) << fleet.haproxy_log();
  fleet.set_wired(0, true);
  EXPECT_TRUE(eventually([&] { return !fleet.lte_active(0); })) << "no failback to the wired link";
  EXPECT_TRUE(eventually([&] { return uplink_of(fleet, 0).value("mode", "") == "wired"; }));
  baker.stop();

  int after = 0;
  Clock::time_point prev = wired_lost;
  Clock::duration gap{};
  for (const auto& r : baker.released()) {
    if (r.at < wired_lost) continue;
    ++after;
    EXPECT_EQ(r.server, "pi1") << r.kind << " " << r.level << ": the standby signed across an LTE switch";
    gap = std::max(gap, r.at - prev);
    prev = r.at;
  }
  EXPECT_GT(after, 30);
  EXPECT_LT(gap, 1000ms) << "the stream stalled across the switch";
  EXPECT_EQ(baker.refusals(), 0) << baker.last_refusal();
}

}  // namespace
}  // namespace pisigner::testing
