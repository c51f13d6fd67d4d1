// Uplink failover configuration as the daemon's TOML layer fills it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace pisigner::hal {

struct UplinkConfig {
  bool enabled = false;
  std::string lte_connection;                // NetworkManager profile id or uuid (type gsm)
  std::string wired_interface;               // empty: any ethernet device
  std::chrono::seconds failover_after{30};   // wired without connectivity this long: activate LTE
  std::chrono::seconds failback_after{120};  // wired good this long: release LTE (hysteresis)
  std::chrono::seconds retry_after{60};      // LTE wanted but not active: ask again after this
  std::chrono::seconds poll_interval{2};
  std::chrono::milliseconds call_timeout{2000};  // deadline of each D-Bus call
};

// Every problem found, one message each, without file/line.
std::vector<std::string> validate(const UplinkConfig& c);

}  // namespace pisigner::hal
