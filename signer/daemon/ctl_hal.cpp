// pisignerctl ups / uplink: what the UPS and the uplink monitors see, from GET /status.
#include "ctl_hal.hpp"

#include <ctime>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "ctl.hpp"
#include "http_client.hpp"

namespace pisigner::ctl {

using nlohmann::json;

namespace {

std::string str(const json& j) {
  if (j.is_null()) return "-";
  if (j.is_string()) return j.get<std::string>();
  if (j.is_boolean()) return j.get<bool>() ? "yes" : "no";
  if (j.is_number_float()) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << j.get<double>();
    return s.str();
  }
  return j.dump();
}

std::string field(const json& obj, const char* key) { return obj.contains(key) ? str(obj[key]) : "-"; }

std::string when(const json& unix_seconds) {
  if (!unix_seconds.is_number_integer()) return "-";
  const std::time_t t = unix_seconds.get<std::int64_t>();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

void print_events(std::ostream& out, const json& section) {
  const json events = section.value("events", json::array());
  if (events.empty()) return;
  out << "  last events:\n";
  for (const auto& e : events) out << "    " << when(e.value("unix", json())) << "  " << std::left << std::setw(12) << field(e, "kind") << field(e, "message") << "\n";
}

void row(std::ostream& out, const char* name, const std::string& value) {
  out << "  " << std::left << std::setw(22) << name << value << "\n";
}

int show(const Common& c, const char* section, bool ups) {
  auto j = fetch_status(c);
  if (!j) return 2;
  if (!j->contains(section)) {
    std::cerr << "pisignerctl: this pisignerd reports no " << section << " section\n";
    return 2;
  }
  const json& s = (*j)[section];
  const std::string state = s.contains("check") ? s["check"].value("state", "") : "";
  if (c.json) {
    std::cout << s.dump(2) << "\n";
  } else if (ups) {
    print_ups(std::cout, *j, true);
  } else {
    print_uplink(std::cout, *j, true);
  }
  // ups: 1 when the check fails (the Pi is not authorized because of its power). The uplink is
  // information only: 0 whenever the daemon answered.
  return ups && state == "failing" ? 1 : 0;
}

}  // namespace

void print_ups(std::ostream& out, const json& status, bool detailed) {
  const json u = status.value("ups", json::object());
  out << "UPS\n";
  if (!u.value("configured", false)) {
    out << "  not configured ([ups] model = \"none\"): no protection against power loss\n";
    return;
  }
  const json check = u.value("check", json::object());
  row(out, "model", field(u, "model"));
  row(out, "state", field(u, "state") + " (" + field(check, "state") + ": " + field(check, "detail") + ")");
  if (!detailed) return;
  row(out, "mains present", field(u, "mains_present"));
  row(out, "charge %", field(u, "charge_percent"));
  row(out, "battery voltage V", field(u, "battery_voltage_v"));
  row(out, "current mA", field(u, "current_ma"));
  row(out, "runtime s", field(u, "runtime_s"));
  row(out, "power-off in s", field(u, "shutdown_in_s"));
  row(out, "last good reading", when(u.value("last_ok_unix", json())) + (u.value("stale", false) ? " (stale)" : ""));
  row(out, "polls / errors", field(u, "polls") + " polls, " + field(u, "read_errors") + " read errors, " +
                                 field(u, "failed_polls") + " failed polls");
  if (!u.value("last_error", std::string()).empty()) row(out, "last error", field(u, "last_error"));
  const json t = u.value("thresholds", json::object());
  row(out, "thresholds", "critical at charge <= " + field(t, "min_charge_percent") + "% or runtime <= " +
                             field(t, "min_runtime_s") + " s; power-off after " + field(t, "grace_period_s") +
                             " s critical; poll every " + field(t, "poll_interval_s") + " s");
  print_events(out, u);
}

void print_uplink(std::ostream& out, const json& status, bool detailed) {
  const json u = status.value("uplink", json::object());
  out << "UPLINK\n";
  if (!u.value("enabled", false)) {
    out << "  failover not enabled ([uplink] enabled = false)\n";
    return;
  }
  const json check = u.value("check", json::object());
  row(out, "active uplink", field(u, "mode") + " (" + field(check, "state") + ": " + field(check, "detail") + ")");
  if (!detailed || !u.contains("mode")) return;  // no mode: the monitor is not running (detail says why)
  row(out, "wired ok", field(u, "wired_ok"));
  row(out, "LTE active", field(u, "lte_active"));
  row(out, "connectivity", field(u, "connectivity"));
  row(out, "primary connection", field(u, "primary_connection_type"));
  row(out, "switch pending in s", field(u, "pending_switch_in_s"));
  const json cfg = u.value("config", json::object());
  row(out, "LTE profile", field(cfg, "lte_connection"));
  row(out, "policy", "failover after " + field(cfg, "failover_after_s") + " s, failback after " +
                         field(cfg, "failback_after_s") + " s");
  const json counters = u.value("counters", json::object());
  row(out, "failovers / failbacks", field(counters, "failovers") + " / " + field(counters, "failbacks") + " (" +
                                        field(counters, "activation_failures") + " activation failures)");
  if (!u.value("modem_manager_present", false)) row(out, "modems", "ModemManager not running");
  for (const auto& m : u.value("modems", json::array())) {
    row(out, "modem", field(m, "manufacturer") + " " + field(m, "model") + ": " + field(m, "state") + ", " +
                          field(m, "access_technology") + ", signal " + field(m, "signal_percent") + "%, " +
                          field(m, "operator"));
  }
  if (!u.value("last_error", std::string()).empty()) row(out, "last error", field(u, "last_error"));
  print_events(out, u);
}

void add_ups(CLI::App& app, Common& common, int& rc) {
  auto* cmd = app.add_subcommand("ups", "UPS readings, state, thresholds and last events (exit 1 if the UPS check fails)");
  cmd->add_option("--url", common.url, "Daemon URL")->capture_default_str();
  cmd->add_flag("--json", common.json, "Print JSON");
  cmd->callback([&] { rc = show(common, "ups", true); });
}

void add_uplink(CLI::App& app, Common& common, int& rc) {
  auto* cmd = app.add_subcommand("uplink", "Wired/LTE uplink: active uplink, connectivity, modems, failovers, last events");
  cmd->add_option("--url", common.url, "Daemon URL")->capture_default_str();
  cmd->add_flag("--json", common.json, "Print JSON");
  cmd->callback([&] { rc = show(common, "uplink", false); });
}

}  // namespace pisigner::ctl
