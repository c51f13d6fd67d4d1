// The "ups" and "uplink" sections of GET /status (read by pisignerctl ups / uplink / status).
#include <nlohmann/json.hpp>

#include "hal_wiring.hpp"

namespace pisigner::daemon {

namespace {

using nlohmann::json;

constexpr std::size_t kRecentEvents = 10;

template <class T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json opt_seconds(const std::optional<std::chrono::seconds>& v) { return v ? json(v->count()) : json(nullptr); }

json recent(const hal::EventLog& log) {
  json out = json::array();
  const auto events = log.events();
  const std::size_t from = events.size() > kRecentEvents ? events.size() - kRecentEvents : 0;
  for (std::size_t i = from; i < events.size(); ++i) {
    out.push_back({{"unix", events[i].unix_seconds}, {"kind", events[i].kind}, {"message", events[i].message}});
  }
  return out;
}

const char* connectivity_name(std::uint32_t c) {
  switch (c) {
    case hal::nm::kConnectivityNone: return "none";
    case hal::nm::kConnectivityPortal: return "portal";
    case hal::nm::kConnectivityLimited: return "limited";
    case hal::nm::kConnectivityFull: return "full";
    default: return "unknown";
  }
}

}  // namespace

std::string merge_json_objects(const std::string& a, const std::string& b) {
  json out = json::parse(a, nullptr, false);
  if (!out.is_object()) out = json::object();
  const json extra = json::parse(b, nullptr, false);
  if (extra.is_object()) out.update(extra);
  return out.dump();
}

std::string HalRuntime::status_json() const {
  json ups = {{"configured", ups_ != nullptr}, {"model", hal::to_string(ups_config_.model)}};
  const auto up = ups_probe();
  ups["check"] = {{"state", health::to_string(up.state)}, {"detail", up.detail}};
  ups["thresholds"] = {{"min_charge_percent", ups_config_.min_soc_percent},
                       {"min_runtime_s", ups_config_.min_runtime.count()},
                       {"grace_period_s", ups_config_.grace_period.count()},
                       {"poll_interval_s", ups_config_.poll_interval.count()}};
  if (ups_) {
    const auto s = ups_->snapshot();
    ups["state"] = hal::to_string(s.state);
    ups["health"] = hal::to_string(s.health);
    ups["mains_present"] = opt(s.reading.mains_present);
    ups["charge_percent"] = opt(s.reading.soc_percent);
    ups["battery_voltage_v"] = opt(s.reading.battery_voltage_v);
    ups["current_ma"] = opt(s.reading.current_ma);
    ups["power_w"] = opt(s.reading.power_w);
    ups["charging"] = opt(s.reading.charging);
    ups["runtime_s"] = opt_seconds(s.runtime);
    ups["shutdown_in_s"] = opt_seconds(s.shutdown_in);
    ups["stale"] = s.stale;
    ups["last_ok_unix"] = s.last_ok_unix;
    ups["polls"] = s.polls;
    ups["read_errors"] = s.read_errors;
    ups["failed_polls"] = s.failed_polls;
    ups["last_error"] = s.last_error;
    ups["events"] = recent(ups_->events());
  } else {
    ups["state"] = hal::to_string(hal::UpsState::not_present);
  }

  json uplink = {{"enabled", uplink_config_.enabled}};
  uplink["config"] = {{"lte_connection", uplink_config_.lte_connection},
                      {"wired_interface", uplink_config_.wired_interface},
                      {"failover_after_s", uplink_config_.failover_after.count()},
                      {"failback_after_s", uplink_config_.failback_after.count()}};
  if (uplink_config_.enabled) {
    const auto pr = uplink_probe();
    uplink["check"] = {{"state", health::to_string(pr.state)}, {"detail", pr.detail}};
  }
  if (uplink_) {
    const auto s = uplink_->snapshot();
    uplink["mode"] = hal::to_string(s.mode);
    uplink["health"] = hal::to_string(s.health);
    uplink["bus_connected"] = s.bus_connected;
    uplink["bus_error"] = s.bus_error;
    uplink["bus_reconnects"] = s.bus_reconnects;
    uplink["network_manager_present"] = s.network_manager_present;
    uplink["wired_ok"] = s.wired_ok;
    uplink["lte_active"] = s.lte_active;
    uplink["connectivity"] = connectivity_name(s.connectivity);
    uplink["primary_connection_type"] = s.primary_connection_type;
    uplink["pending_switch_in_s"] = opt_seconds(s.pending_switch_in);
    uplink["modem_manager_present"] = s.modems.service_present;
    json modems = json::array();
    for (const auto& m : s.modems.modems) {
      modems.push_back({{"path", m.path},
                        {"manufacturer", m.manufacturer},
                        {"model", m.model},
                        {"state", hal::modem_state_name(m.state)},
                        {"access_technology", hal::access_technology_name(m.access_technologies)},
                        {"signal_percent", m.signal_percent},
                        {"operator", m.operator_name.empty() ? m.operator_code : m.operator_name}});
    }
    uplink["modems"] = std::move(modems);
    uplink["counters"] = {{"failovers", s.counters.failovers},
                          {"failbacks", s.counters.failbacks},
                          {"activation_attempts", s.counters.activation_attempts},
                          {"activation_failures", s.counters.activation_failures},
                          {"deactivation_failures", s.counters.deactivation_failures}};
    uplink["last_error"] = s.last_error;
    uplink["events"] = recent(uplink_->events());
  }
  return json{{"ups", std::move(ups)}, {"uplink", std::move(uplink)}}.dump();
}

}  // namespace pisigner::daemon
