#include "pisigner/hal/ups_monitor.hpp"

#include <fmt/format.h>

#include "max1704x_registers.hpp"

namespace pisigner::hal {

UpsMonitor::UpsMonitor(UpsConfig config, std::unique_ptr<UpsDriver> driver, std::shared_ptr<PowerOff> power_off,
                       Clock& clock, std::shared_ptr<PowerLossWatcher> power_loss)
    : config_(std::move(config)),
      driver_(std::move(driver)),
      power_off_(std::move(power_off)),
      clock_(clock),
      power_loss_(std::move(power_loss)),
      policy_(UpsThresholds{config_.min_soc_percent, config_.min_runtime, config_.grace_period}),
      runtime_(config_.battery_capacity_mah) {
  snap_.model = driver_ ? driver_->model() : to_string(config_.model);
  if (power_loss_) power_loss_->set_on_change([this](bool) { wake(); });
}

UpsMonitor::~UpsMonitor() {
  if (power_loss_) power_loss_->set_on_change({});
}

void UpsMonitor::set_before_shutdown(std::function<void()> cb) { before_shutdown_ = std::move(cb); }

Result<void, HalError> UpsMonitor::probe() {
  if (!driver_) {
    policy_.mark_not_present();
    std::lock_guard lock(mutex_);
    snap_.state = UpsState::not_present;
    snap_.health = health_of(UpsState::not_present, false);
    return {};
  }
  auto first = driver_->read();
  if (!first && first.error().code == Errc::absent) {
    const std::string what = fmt::format("UPS {} not found (i2c bus {}, address 0x{:02x}): {}", driver_->model(),
                                         config_.i2c_bus, config_.effective_address(), first.error().message);
    if (!config_.optional) return fail(HalError{Errc::absent, what});
    events_.add({clock_.unix_seconds(), "ups", "not_present", what + "; continuing without UPS (optional)"}, true);
    driver_.reset();
    policy_.mark_not_present();
    std::lock_guard lock(mutex_);
    snap_.state = UpsState::not_present;
    snap_.health = health_of(UpsState::not_present, false);
    return {};
  }
  poll();
  return {};
}

void UpsMonitor::poll() {
  if (!driver_) return;
  const auto now = clock_.now();
  std::optional<UpsReading> reading;
  std::uint64_t errors = 0;
  std::string last_error;
  // Retry a transient bus glitch right away; a missing or dead chip fails every attempt
  // and is reported as a failed poll, never fatal.
  for (std::int64_t attempt = 0; attempt < config_.read_retries && !reading; ++attempt) {
    auto r = driver_->read();
    if (r) {
      reading = std::move(*r);
    } else {
      ++errors;
      last_error = to_string(r.error().code) + std::string(": ") + r.error().message;
    }
  }

  UpsObservation obs;
  if (reading) {
    if (power_loss_ && !reading->mains_present) reading->mains_present = power_loss_->mains_present();
    const bool on_battery = reading->mains_present.has_value() && !*reading->mains_present;
    runtime_.add(now, on_battery, reading->soc_percent, reading->current_ma);
    obs.mains_present = reading->mains_present;
    obs.soc_percent = reading->soc_percent;
    obs.runtime = runtime_.estimate();
  } else if (power_loss_) {
    obs.mains_present = power_loss_->mains_present();
  }
  const UpsStep step = policy_.step(obs, now);

  {
    std::lock_guard lock(mutex_);
    ++snap_.polls;
    snap_.read_errors += errors;
    if (reading) {
      snap_.reading = *reading;
      snap_.runtime = obs.runtime;
      snap_.stale = false;
      snap_.consecutive_failed_polls = 0;
      snap_.last_ok_unix = clock_.unix_seconds();
    } else {
      ++snap_.failed_polls;
      ++snap_.consecutive_failed_polls;
      snap_.stale = true;
      snap_.last_error = last_error;
    }
    snap_.state = step.state;
    snap_.health = health_of(step.state, snap_.stale);
    snap_.shutdown_in.reset();
    if (auto at = policy_.shutdown_at()) {
      snap_.shutdown_in = std::chrono::duration_cast<std::chrono::seconds>(*at > now ? *at - now : Clock::Duration{});
    }
  }
  if (!reading) {
    events_.add({clock_.unix_seconds(), "ups", "read_error",
                 fmt::format("{} attempts failed: {}", errors, last_error)},
                true);
  }
  if (step.changed) log_transition(step);
  if (step.shutdown_requested) shutdown_sequence();
}

void UpsMonitor::log_transition(const UpsStep& step) {
  const auto snap = snapshot();
  std::string detail;
  if (snap.reading.soc_percent) detail += fmt::format(" soc={:.1f}%", *snap.reading.soc_percent);
  if (snap.runtime) detail += fmt::format(" runtime={}s", snap.runtime->count());
  const bool bad = step.state != UpsState::on_mains;
  events_.add({clock_.unix_seconds(), "ups", "state",
               fmt::format("-> {}: {}{}", to_string(step.state), step.reason, detail)},
              bad);
}

void UpsMonitor::shutdown_sequence() {
  if (!before_shutdown_done_) {
    before_shutdown_done_ = true;
    events_.add({clock_.unix_seconds(), "ups", "shutdown", "stopping signing and closing the store"}, true);
    if (before_shutdown_) before_shutdown_();
  }
  if (!power_off_) {
    events_.add({clock_.unix_seconds(), "ups", "shutdown", "no power-off action configured"}, true);
    return;
  }
  auto r = power_off_->power_off();
  if (!r) {
    // Stay in shutdown_pending: the next poll asks again (logind or its bus may be back).
    ++power_off_failures_;
    events_.add({clock_.unix_seconds(), "ups", "shutdown",
                 fmt::format("power-off refused (attempt {}), retrying on the next poll: {}", power_off_failures_,
                             r.error().message)},
                true);
    return;
  }
  policy_.shutdown_done();
  {
    std::lock_guard lock(mutex_);
    snap_.state = policy_.state();
    snap_.health = health_of(snap_.state, snap_.stale);
  }
  events_.add({clock_.unix_seconds(), "ups", "shutdown",
               power_off_failures_ == 0
                   ? std::string("power-off requested")
                   : fmt::format("power-off requested (accepted after {} refused attempts)", power_off_failures_)},
              true);
}

void UpsMonitor::schedule_on(PeriodicWorker& worker) {
  job_ = worker.add("ups", [this] {
    poll_guarded();
    return std::chrono::duration_cast<Clock::Duration>(config_.poll_interval);
  });
  worker_ = &worker;
}

// The worker thread's boundary for this job: a failure nobody foresaw must not end the process; it makes
// the check fail (unhealthy: the UPS can no longer be trusted to protect the store).
void UpsMonitor::poll_guarded() {
  try {
    poll();
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(mutex_);
      snap_.stale = true;
      snap_.health = Health::unhealthy;
      snap_.last_error = std::string("UPS poll failed: ") + e.what();
    }
    events_.add({clock_.unix_seconds(), "ups", "error", std::string("poll failed: ") + e.what()}, true);
  }
}

void UpsMonitor::wake() {
  if (PeriodicWorker* w = worker_.load()) w->wake(job_);
}

UpsSnapshot UpsMonitor::snapshot() const {
  std::lock_guard lock(mutex_);
  return snap_;
}

Result<std::unique_ptr<UpsMonitor>, HalError> make_ups_monitor(const UpsConfig& config,
                                                               std::shared_ptr<PowerOff> power_off, Clock& clock) {
  std::unique_ptr<UpsDriver> driver;
  std::shared_ptr<PowerLossWatcher> pld;
  auto absent_or = [&](HalError e) -> Result<std::unique_ptr<UpsMonitor>, HalError> {
    if (config.optional && e.code == Errc::absent) {
      return std::make_unique<UpsMonitor>(config, nullptr, power_off, clock);
    }
    return fail(std::move(e));
  };
  switch (config.model) {
    case HatModel::none:
      return std::make_unique<UpsMonitor>(config, nullptr, power_off, clock);
    case HatModel::waveshare_ina219: {
      auto bus = open_i2c_bus(static_cast<int>(config.i2c_bus));
      if (!bus) return absent_or(bus.error());
      driver = make_ina219_driver(std::move(*bus), config.effective_address(),
                                  Ina219Pack{config.pack_empty_v, config.pack_full_v});
      break;
    }
    case HatModel::x728: {
      auto bus = open_i2c_bus(static_cast<int>(config.i2c_bus));
      if (!bus) return absent_or(bus.error());
      const auto offset = static_cast<unsigned>(config.power_loss_line.value_or(max1704x::kX728PowerLossLine));
      auto line = open_gpio_line(config.gpio_chip, offset, "pisignerd-ups");
      if (!line) return absent_or(line.error());
      pld = std::make_shared<PowerLossWatcher>(std::move(*line), config.power_loss_active_high);
      driver = make_max17040_driver(std::move(*bus), config.effective_address(), pld);
      break;
    }
    case HatModel::sysfs:
      driver = make_sysfs_driver(make_sysfs_power_supply(config.sysfs_root), config.sysfs_battery, config.sysfs_ac);
      break;
  }
  if (!pld && config.power_loss_line && config.model != HatModel::x728) {
    auto line = open_gpio_line(config.gpio_chip, static_cast<unsigned>(*config.power_loss_line), "pisignerd-ups");
    if (!line) return absent_or(line.error());
    pld = std::make_shared<PowerLossWatcher>(std::move(*line), config.power_loss_active_high);
  }
  if (pld) {
    if (auto r = pld->init(); !r) {
      return absent_or(HalError{r.error().code, "UPS power-loss line: " + r.error().message});
    }
  }
  auto mon = std::make_unique<UpsMonitor>(config, std::move(driver), std::move(power_off), clock, pld);
  if (pld) pld->start();
  return mon;
}

}  // namespace pisigner::hal
