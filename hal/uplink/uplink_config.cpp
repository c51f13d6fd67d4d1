#include "pisigner/hal/uplink_config.hpp"

#include "pisigner/hal/ups_config.hpp"

namespace pisigner::hal {

std::vector<ConfigIssue> validate(const UplinkConfig& c) {
  std::vector<ConfigIssue> out;
  check_range<std::int64_t>(out, "failover_after_s", c.failover_after.count(), 1, 86400);
  check_range<std::int64_t>(out, "failback_after_s", c.failback_after.count(), 1, 86400);
  if (c.failback_after < c.failover_after) {
    out.push_back({"failback_after_s", "must not be shorter than failover_after_s (hysteresis)", {"failover_after_s"}});
  }
  check_range<std::int64_t>(out, "retry_after_s", c.retry_after.count(), 1, 86400);
  check_range<std::int64_t>(out, "poll_interval_s", c.poll_interval.count(), 1, 3600);
  check_range<std::int64_t>(out, "call_timeout_ms", c.call_timeout.count(), 100, 30000);
  if (!valid_bus_spec(c.bus)) out.push_back({"bus", kBusExpected, {}});
  if (c.enabled && c.lte_connection.empty()) {
    out.push_back({"lte_connection", "is required when enabled = true (a NetworkManager profile id or uuid)", {"enabled"}});
  }
  return out;
}

}  // namespace pisigner::hal
