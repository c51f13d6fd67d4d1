#include "hal_wiring.hpp"

#include <fmt/format.h>
#include <sdbus-c++/sdbus-c++.h>
#include <spdlog/spdlog.h>

#include "pisigner/hal/power_off.hpp"

namespace pisigner::daemon {

namespace {

std::unique_ptr<sdbus::IConnection> open_bus(const std::string& spec) {
  if (spec == "system") return sdbus::createSystemBusConnection();
  return sdbus::createSessionBusConnectionWithAddress(spec);
}

// logind PowerOff on [ups] bus. Connects when first needed and again after a failure, so a
// bus that is down at start-up (or restarted since) does not cost the power-off; the monitor
// retries a refused power-off on every poll. Calls are synchronous: no event loop needed.
class BusPowerOff final : public hal::PowerOff {
 public:
  explicit BusPowerOff(std::string bus) : bus_(std::move(bus)) {}

  Result<void, hal::HalError> connect() {
    std::lock_guard lock(mutex_);
    return connect_locked();
  }

  Result<void, hal::HalError> power_off() override {
    std::lock_guard lock(mutex_);
    if (auto r = connect_locked(); !r) return r;
    auto r = inner_->power_off();
    if (!r) {
      inner_.reset();  // reconnect next time: the bus or logind may have restarted
      conn_.reset();
    }
    return r;
  }

 private:
  Result<void, hal::HalError> connect_locked() {
    if (inner_) return {};
    try {
      conn_ = open_bus(bus_);
    } catch (const sdbus::Error& e) {
      return fail(hal::HalError{hal::Errc::absent, "D-Bus " + bus_ + ": " + e.getMessage()});
    }
    inner_ = hal::make_logind_power_off(*conn_);
    return {};
  }

  const std::string bus_;
  std::mutex mutex_;
  std::unique_ptr<sdbus::IConnection> conn_;  // guarded by mutex_; declared before its user
  std::unique_ptr<hal::PowerOff> inner_;      // guarded by mutex_
};

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

hal::UpsConfig to_hal(const config::UpsSection& s) {
  hal::UpsConfig c;
  c.model = hal::parse_hat_model(s.model).value_or(hal::HatModel::none);  // validated by the config loader
  c.i2c_bus = s.i2c_bus;
  c.i2c_address = s.address;
  c.gpio_chip = s.gpio_chip;
  c.power_loss_line = s.gpio_line;
  c.power_loss_active_high = s.gpio_active_high;
  c.sysfs_root = s.sysfs_root;
  c.sysfs_battery = s.sysfs_battery;
  c.sysfs_ac = s.sysfs_ac;
  c.pack_empty_v = s.pack_empty_v;
  c.pack_full_v = s.pack_full_v;
  c.battery_capacity_mah = s.battery_capacity_mah;
  c.poll_interval = s.poll_interval;
  c.read_retries = s.read_retries;
  c.min_soc_percent = s.min_charge_percent;
  c.min_runtime = s.min_runtime;
  c.grace_period = s.grace_period;
  c.optional = s.optional;
  return c;
}

hal::UplinkConfig to_hal(const config::UplinkSection& s) {
  hal::UplinkConfig c;
  c.enabled = s.enabled;
  c.lte_connection = s.lte_connection;
  c.wired_interface = s.wired_interface;
  c.failover_after = s.failover_after;
  c.failback_after = s.failback_after;
  c.retry_after = s.retry_after;
  c.poll_interval = s.poll_interval;
  c.call_timeout = s.call_timeout;
  return c;
}

HalRuntime::HalRuntime(const config::Config& config, Clock& clock)
    : clock_(clock),
      ups_config_(to_hal(config.ups)),
      uplink_config_(to_hal(config.uplink)),
      ups_bus_(config.ups.bus),
      uplink_bus_(config.uplink.bus) {}

Result<std::unique_ptr<HalRuntime>, Error> HalRuntime::create(const config::Config& config, Clock& clock) {
  std::unique_ptr<HalRuntime> rt(new HalRuntime(config, clock));
  const auto at = [&](int line, const std::string& section) {
    return line > 0 ? fmt::format("{}:{}: {}", config.source, line, section) : config.source + ": " + section;
  };
  for (const auto& e : hal::validate(rt->ups_config_)) return fail(Error{at(config.ups.line, "ups") + ": " + e});
  for (const auto& e : hal::validate(rt->uplink_config_)) return fail(Error{at(config.uplink.line, "uplink") + ": " + e});

  if (rt->ups_config_.model != hal::HatModel::none) {
    auto power_off = std::make_shared<BusPowerOff>(rt->ups_bus_);
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

  if (rt->uplink_config_.enabled) {
    try {
      rt->uplink_conn_ = open_bus(rt->uplink_bus_);
      rt->uplink_ = std::make_unique<hal::UplinkMonitor>(rt->uplink_config_, *rt->uplink_conn_, clock);
    } catch (const sdbus::Error& e) {
      // The uplink is information only: without D-Bus we keep signing and say why in the check.
      rt->uplink_error_ = "D-Bus " + rt->uplink_bus_ + " unreachable: " + e.getMessage();
      rt->uplink_.reset();
      rt->uplink_conn_.reset();
      spdlog::error("uplink: {}", rt->uplink_error_);
    }
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
  if (uplink_conn_) uplink_conn_->enterEventLoopAsync();
  if (ups_) ups_->start();
  if (uplink_) uplink_->start();
}

void HalRuntime::stop() {
  if (!started_) return;
  started_ = false;
  if (uplink_) uplink_->stop();
  if (ups_) ups_->stop();
  if (uplink_conn_) uplink_conn_->leaveEventLoop();
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
  if (!uplink_) return {health::State::Warning, uplink_error_.empty() ? "uplink monitor not running" : uplink_error_};
  const auto s = uplink_->snapshot();
  if (s.ticks == 0) return {health::State::Warning, "no reading yet"};
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
