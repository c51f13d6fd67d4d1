// Uplink failover configuration ([uplink] in pisignerd's file): the defaults and every rule on
// the values live here, once; the TOML reader only checks types and adds file:line.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "pisigner/hal/config_issue.hpp"

namespace pisigner::hal {

// File keys: enabled, lte_connection, wired_interface, failover_after_s, failback_after_s,
// retry_after_s, poll_interval_s, call_timeout_ms, bus.
struct UplinkConfig {
  bool enabled = false;
  std::string lte_connection;                // NetworkManager profile id or uuid (type gsm)
  std::string wired_interface;               // empty: any ethernet device
  std::chrono::seconds failover_after{30};   // wired without connectivity this long: activate LTE
  std::chrono::seconds failback_after{120};  // wired good this long: release LTE (hysteresis)
  std::chrono::seconds retry_after{60};      // LTE wanted but not active: ask again after this
  std::chrono::seconds poll_interval{2};
  std::chrono::milliseconds call_timeout{2000};  // deadline of each D-Bus call
  std::string bus = "system";                // "system" or a D-Bus address (tests: a private bus)
};

// Every problem found, in the order of the keys above; empty when the config is usable.
// Ranges are checked whether or not the monitor is enabled (a file stays valid when it is
// switched on); lte_connection is required only when enabled.
std::vector<ConfigIssue> validate(const UplinkConfig& c);

}  // namespace pisigner::hal
