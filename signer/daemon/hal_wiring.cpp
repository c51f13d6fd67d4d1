#include "hal_wiring.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "pisigner/hal/power_off.hpp"

namespace pisigner::daemon {

namespace {

health::State state_of(hal::Health h) {
  switch (h) {
    case hal::Health::healthy: return health::State::Ok;
    case hal::Health::degraded: return health::State::Warning;
    case hal::Health::unhealthy: return health::State::Failing;
  }
  return health::State::Failing;
}

using Samples = std::vector<std::pair<metrics::Labels, double>>;

}  // namespace

HalRuntime::HalRuntime(const config::Config& config, Clock& clock)
    : clock_(clock), ups_config_(config.ups.config), uplink_config_(config.uplink.config), worker_(clock) {}

Result<std::unique_ptr<HalRuntime>, Error> HalRuntime::create(const config::Config& config, Clock& clock) {
  std::unique_ptr<HalRuntime> rt(new HalRuntime(config, clock));
  const auto at = [&](int line, const std::string& section) {
    return line > 0 ? fmt::format("{}:{}: {}", config.source, line, section) : config.source + ": " + section;
  };

  if (rt->ups_config_.model != hal::HatModel::none) {
    auto power_off = std::make_shared<hal::ReconnectingPowerOff>(rt->ups_config_.bus);
    if (auto c = power_off->connect(); !c) {
      // Not fatal: signing does not need logind, and the power-off reconnects when it is due.
      spdlog::warn("ups: cannot reach logind yet ({}); will retry at shutdown", c.error().message);
    }
    auto mon = hal::make_ups_monitor(rt->ups_config_, power_off, clock);
    if (!mon) return fail(Error{at(config.ups.line, "ups") + ": " + mon.error().message});
    rt->ups_ = std::move(mon).value();
    if (auto p = rt->ups_->probe(); !p) return fail(Error{at(config.ups.line, "ups") + ": " + p.error().message});
    const auto s = rt->ups_->snapshot();
    spdlog::info("ups: {} {}", s.model, hal::to_string(s.state));
  }

  // The uplink is information only: the monitor owns its bus connection, and a bus that is
  // not there (or goes away later) is retried with backoff while signing goes on.
  if (rt->uplink_config_.enabled) {
    rt->uplink_ = std::make_unique<hal::UplinkMonitor>(rt->uplink_config_, clock);
  }
  return rt;
}

HalRuntime::~HalRuntime() { stop(); }

void HalRuntime::set_before_power_off(std::function<void()> cb) {
  if (ups_) ups_->set_before_shutdown(std::move(cb));
}

void HalRuntime::start() {
  if (started_) return;
  started_ = true;
  if (!scheduled_) {
    scheduled_ = true;
    if (ups_) ups_->schedule_on(worker_);
    if (uplink_) uplink_->schedule_on(worker_);
  }
  worker_.start();
}

void HalRuntime::stop() {
  if (!started_) return;
  started_ = false;
  worker_.stop();
}

health::ProbeResult HalRuntime::ups_probe() const {
  if (!ups_) return {health::State::Ok, "no UPS configured (model = none)"};
  const auto s = ups_->snapshot();
  if (s.state == hal::UpsState::not_present) {
    return {health::State::Warning, "UPS " + s.model + " not present (optional): no protection against power loss"};
  }
  std::string detail = hal::to_string(s.state);
  if (s.reading.soc_percent) detail += fmt::format(", charge {:.0f}%", *s.reading.soc_percent);
  if (s.runtime) detail += fmt::format(", runtime {}s", s.runtime->count());
  if (s.shutdown_in) detail += fmt::format(", power-off in {}s", s.shutdown_in->count());
  if (s.stale && !s.last_error.empty()) detail += ", reading failed: " + s.last_error;
  return {state_of(s.health), detail};
}

health::ProbeResult HalRuntime::uplink_probe() const {
  if (!uplink_) return {health::State::Warning, "uplink monitor not running"};
  const auto s = uplink_->snapshot();
  if (s.ticks == 0) return {health::State::Warning, "no reading yet"};
  if (!s.bus_connected) return {health::State::Warning, "unknown: " + s.bus_error};
  if (!s.network_manager_present) return {health::State::Warning, "NetworkManager not reachable: " + s.last_error};
  std::string detail = fmt::format("{} uplink, wired {}, LTE {}", hal::to_string(s.mode), s.wired_ok ? "ok" : "down",
                                   s.lte_active ? "active" : "inactive");
  if (!s.modems.modems.empty()) detail += fmt::format(", signal {}%", s.modems.modems.front().signal_percent);
  if (s.pending_switch_in) detail += fmt::format(", switching in {}s", s.pending_switch_in->count());
  return {state_of(s.health), detail};
}

void HalRuntime::add_health_checks(health::Health& health) {
  if (ups_) {
    // Required: critical or shutting down must fail /authorized so HAProxy moves to the other Pi.
    health.add("ups", true, [this] {
      sync_counters();
      return ups_probe();
    });
  }
  if (uplink_config_.enabled) {
    // Information only: an uplink switch never fails /authorized.
    health.add("uplink", false, [this] {
      sync_counters();
      return uplink_probe();
    });
  }
}

// Counters in the registry only move by inc(); the monitors keep totals, so each probe adds
// what is new (at most one health interval late).
void HalRuntime::sync_counters() {
  if (!metrics_) return;
  std::lock_guard lock(counters_mutex_);
  if (ups_) {
    const auto errors = ups_->snapshot().read_errors;
    if (errors > seen_read_errors_) metrics_->inc("pisigner_ups_read_errors_total", {}, double(errors - seen_read_errors_));
    seen_read_errors_ = errors;
  }
  if (uplink_) {
    const auto c = uplink_->snapshot().counters;
    const auto add = [&](const char* name, std::uint64_t now, std::uint64_t& seen) {
      if (now > seen) metrics_->inc(name, {}, double(now - seen));
      seen = now;
    };
    add("pisigner_uplink_failovers_total", c.failovers, seen_uplink_.failovers);
    add("pisigner_uplink_failbacks_total", c.failbacks, seen_uplink_.failbacks);
    add("pisigner_uplink_activation_failures_total", c.activation_failures, seen_uplink_.activation_failures);
  }
}

void HalRuntime::declare_metrics(metrics::Registry& m) {
  metrics_ = &m;
  if (ups_) {
    auto* ups = ups_.get();
    m.declare_counter("pisigner_ups_read_errors_total", "Failed UPS read attempts (I2C/sysfs), retried ones included.");
    m.declare_gauge("pisigner_ups_state", "UPS state: 1 for the current one.", [ups] {
      const auto now = ups->snapshot().state;
      Samples out;
      for (auto s : {hal::UpsState::not_present, hal::UpsState::unknown, hal::UpsState::on_mains, hal::UpsState::on_battery,
                     hal::UpsState::critical, hal::UpsState::shutdown_pending, hal::UpsState::shutdown}) {
        out.push_back({{{"state", hal::to_string(s)}}, s == now ? 1.0 : 0.0});
      }
      return out;
    });
    m.declare_gauge("pisigner_ups_on_battery", "1 while mains is lost.", [ups] {
      const auto s = ups->snapshot();
      const bool on_battery = s.reading.mains_present.has_value() && !*s.reading.mains_present;
      return Samples{{{}, on_battery ? 1.0 : 0.0}};
    });
    m.declare_gauge("pisigner_ups_charge_percent", "Battery state of charge (last good reading).", [ups] {
      const auto s = ups->snapshot();
      return s.reading.soc_percent ? Samples{{{}, *s.reading.soc_percent}} : Samples{};
    });
    m.declare_gauge("pisigner_ups_runtime_seconds", "Estimated runtime to empty on battery.", [ups] {
      const auto s = ups->snapshot();
      return s.runtime ? Samples{{{}, double(s.runtime->count())}} : Samples{};
    });
    m.declare_gauge("pisigner_ups_battery_volts", "Battery voltage (last good reading).", [ups] {
      const auto s = ups->snapshot();
      return s.reading.battery_voltage_v ? Samples{{{}, *s.reading.battery_voltage_v}} : Samples{};
    });
    m.declare_gauge("pisigner_ups_reading_stale", "1 when the last UPS poll failed.", [ups] {
      return Samples{{{}, ups->snapshot().stale ? 1.0 : 0.0}};
    });
  }
  if (uplink_) {
    auto* up = uplink_.get();
    m.declare_counter("pisigner_uplink_failovers_total", "Switches from wired to LTE.");
    m.declare_counter("pisigner_uplink_failbacks_total", "Switches from LTE back to wired.");
    m.declare_counter("pisigner_uplink_activation_failures_total", "LTE activations NetworkManager refused.");
    m.declare_gauge("pisigner_uplink_active", "The uplink in use: 1 for the active one.", [up] {
      const auto s = up->snapshot();
      return Samples{{{{"uplink", "wired"}}, s.mode == hal::UplinkMode::wired ? 1.0 : 0.0},
                     {{{"uplink", "lte"}}, s.mode == hal::UplinkMode::lte ? 1.0 : 0.0}};
    });
    m.declare_gauge("pisigner_uplink_up", "1 when the uplink has connectivity (wired ok or LTE active).", [up] {
      const auto s = up->snapshot();
      return Samples{{{{"uplink", "wired"}}, s.wired_ok ? 1.0 : 0.0}, {{{"uplink", "lte"}}, s.lte_active ? 1.0 : 0.0}};
    });
    m.declare_gauge("pisigner_uplink_connectivity", "NetworkManager connectivity (0 unknown .. 4 full).", [up] {
      return Samples{{{}, double(up->snapshot().connectivity)}};
    });
    m.declare_gauge("pisigner_uplink_signal_quality_percent", "Modem signal quality.", [up] {
      Samples out;
      for (const auto& modem : up->snapshot().modems.modems) out.push_back({{{"modem", modem.path}}, double(modem.signal_percent)});
      return out;
    });
  }
}

}  // namespace pisigner::daemon
