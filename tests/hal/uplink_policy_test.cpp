// Failover and failback timing of UplinkPolicy with a ManualClock.
#include <gtest/gtest.h>

#include "pisigner/hal/uplink_policy.hpp"

namespace pisigner::hal {
namespace {

using std::chrono::seconds;

struct PolicyFixture : ::testing::Test {
  PolicyFixture() : policy(config, clock, log) {}
  UplinkAction at(seconds dt, bool wired_ok, bool lte_active = false) {
    clock.advance(dt);
    return policy.step({wired_ok, lte_active});
  }
  UplinkConfig config;  // defaults: 30 s failover, 120 s failback, 60 s retry
  ManualClock clock;
  EventLog log;
  UplinkPolicy policy;
};

TEST_F(PolicyFixture, FailsOverOnlyAfterWiredIsBadForFailoverAfter) {
  EXPECT_EQ(at(seconds(0), true), UplinkAction::none);
  EXPECT_EQ(at(seconds(1), false), UplinkAction::none);
  EXPECT_EQ(at(seconds(29), false), UplinkAction::none);
  EXPECT_EQ(*policy.pending_switch_in(), seconds(1));
  EXPECT_EQ(at(seconds(1), false), UplinkAction::activate_lte);
  EXPECT_EQ(policy.mode(), UplinkMode::lte);
  EXPECT_EQ(policy.counters().failovers, 1u);
}

TEST_F(PolicyFixture, ShortWiredBlipDoesNotFailOver) {
  at(seconds(0), false);
  EXPECT_EQ(at(seconds(20), true), UplinkAction::none);
  EXPECT_EQ(at(seconds(20), false), UplinkAction::none);  // timer restarted
  EXPECT_EQ(at(seconds(20), false), UplinkAction::none);
  EXPECT_EQ(policy.mode(), UplinkMode::wired);
}

TEST_F(PolicyFixture, FailbackNeedsStableWiredForHysteresis) {
  at(seconds(0), false);
  ASSERT_EQ(at(seconds(30), false), UplinkAction::activate_lte);
  policy.record(UplinkAction::activate_lte, true);
  EXPECT_EQ(at(seconds(10), true, true), UplinkAction::none);
  EXPECT_EQ(at(seconds(100), true, true), UplinkAction::none);
  EXPECT_EQ(at(seconds(5), false, true), UplinkAction::none);  // flap: hysteresis restarts
  EXPECT_EQ(at(seconds(5), true, true), UplinkAction::none);
  EXPECT_EQ(at(seconds(119), true, true), UplinkAction::none);
  EXPECT_EQ(at(seconds(1), true, true), UplinkAction::deactivate_lte);
  EXPECT_EQ(policy.mode(), UplinkMode::wired);
  EXPECT_EQ(policy.counters().failbacks, 1u);
}

TEST_F(PolicyFixture, FailedActivationIsRetriedAfterRetryAfter) {
  at(seconds(0), false);
  ASSERT_EQ(at(seconds(30), false), UplinkAction::activate_lte);
  policy.record(UplinkAction::activate_lte, false, "no modem");
  EXPECT_EQ(policy.counters().activation_failures, 1u);
  EXPECT_EQ(at(seconds(59), false, false), UplinkAction::none);
  EXPECT_EQ(at(seconds(1), false, false), UplinkAction::activate_lte);
  EXPECT_EQ(policy.counters().activation_attempts, 2u);
}

TEST_F(PolicyFixture, EveryDecisionIsInTheBoundedEventLog) {
  at(seconds(0), false);
  at(seconds(30), false);
  policy.record(UplinkAction::activate_lte, true);
  const auto events = log.events();
  ASSERT_GE(events.size(), 3u);
  bool failover = false;
  for (const auto& e : events) failover |= e.kind == "failover";
  EXPECT_TRUE(failover);
  EventLog small(2);
  for (int i = 0; i < 5; ++i) small.add({i, "uplink", "k", "m"});
  EXPECT_EQ(small.events().size(), 2u);
  EXPECT_EQ(small.events().front().unix_seconds, 3);
  EXPECT_EQ(small.total(), 5u);
}

}  // namespace
}  // namespace pisigner::hal
