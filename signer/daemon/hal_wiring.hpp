// The UPS and uplink monitors (hal/) as pisignerd runs them: built from [ups] / [uplink], with
// their D-Bus connections, health checks "ups" and "uplink", metrics and the /status sections.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "pisigner/clock.hpp"
#include "pisigner/config/config.hpp"
#include "pisigner/hal/uplink_monitor.hpp"
#include "pisigner/hal/ups_monitor.hpp"
#include "pisigner/health/health.hpp"
#include "pisigner/metrics/metrics.hpp"
#include "pisigner/periodic_worker.hpp"
#include "pisigner/result.hpp"

namespace pisigner::daemon {

// The members of two JSON objects in one (b wins on a clash); a side that is not an object is
// ignored. For RouterOptions::status_extra, which returns one object.
std::string merge_json_objects(const std::string& a, const std::string& b);

class HalRuntime {
 public:
  // Opens the UPS hardware (probing it: absent and not optional is an error naming it) and, when
  // [uplink] is enabled, builds its monitor (which connects when started, and reconnects).
  // [ups] model = "none" and [uplink] enabled = false touch nothing. `clock` must outlive the runtime.
  static Result<std::unique_ptr<HalRuntime>, Error> create(const config::Config& config, Clock& clock);
  ~HalRuntime();  // stop()
  HalRuntime(const HalRuntime&) = delete;
  HalRuntime& operator=(const HalRuntime&) = delete;

  // Runs on the UPS thread once shutdown is due, before power-off: must stop signing and close
  // the store (App::prepare_power_off). Set before start().
  void set_before_power_off(std::function<void()> cb);
  // Check "ups" (required when a UPS is configured) and "uplink" (information only). Before start().
  void add_health_checks(health::Health& health);
  // Gauges and counters pisigner_ups_* and pisigner_uplink_*.
  void declare_metrics(metrics::Registry& metrics);
  // The one worker thread that polls the UPS and ticks the uplink (whose D-Bus event loop has a
  // thread of its own). Idempotent.
  void start();
  void stop();

  // {"ups": {...}, "uplink": {...}} for GET /status. Thread-safe.
  std::string status_json() const;

  // Health of the current snapshots (exposed for the checks; thread-safe).
  health::ProbeResult ups_probe() const;
  health::ProbeResult uplink_probe() const;

 private:
  HalRuntime(const config::Config& config, Clock& clock);
  void sync_counters();

  // constant after construction
  Clock& clock_;
  hal::UpsConfig ups_config_;
  hal::UplinkConfig uplink_config_;
  PeriodicWorker worker_;  // stopped (stop()) before the monitors whose jobs it runs go
  std::unique_ptr<hal::UpsMonitor> ups_;          // null when model = none
  std::unique_ptr<hal::UplinkMonitor> uplink_;    // null when disabled
  metrics::Registry* metrics_ = nullptr;

  std::mutex counters_mutex_;
  std::uint64_t seen_read_errors_ = 0;  // guarded by counters_mutex_
  hal::UplinkCounters seen_uplink_{};   // guarded by counters_mutex_
  bool started_ = false;
  bool scheduled_ = false;
};

}  // namespace pisigner::daemon
