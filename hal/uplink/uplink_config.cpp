#include "pisigner/hal/uplink_config.hpp"

namespace pisigner::hal {

std::vector<std::string> validate(const UplinkConfig& c) {
  std::vector<std::string> errs;
  if (!c.enabled) return errs;
  if (c.lte_connection.empty()) errs.push_back("lte_connection must name a NetworkManager profile (id or uuid)");
  if (c.failover_after.count() < 1) errs.push_back("failover_after must be at least 1 s");
  if (c.failback_after.count() < 1) errs.push_back("failback_after must be at least 1 s");
  if (c.failback_after < c.failover_after) {
    errs.push_back("failback_after must not be shorter than failover_after (hysteresis)");
  }
  if (c.retry_after.count() < 1) errs.push_back("retry_after must be at least 1 s");
  if (c.poll_interval.count() < 1) errs.push_back("poll_interval must be at least 1 s");
  if (c.call_timeout.count() < 100 || c.call_timeout.count() > 30000) {
    errs.push_back("call_timeout must be between 100 ms and 30 s");
  }
  return errs;
}

}  // namespace pisigner::hal
