// The UPS decision rule, pure and clock-free: readings in, state and "shut down now" out.
//
//   on_mains ──mains lost──▶ on_battery ──SoC ≤ min or runtime ≤ min──▶ critical
//       ▲                        │                                        │ grace_period
//       └──────mains back────────┴──────────────mains back────────────────┤
//                                                                         ▼
//                                         shutdown ◀──power-off accepted── shutdown_pending
//
// Once on battery and critical, the state stays critical until mains returns (no flapping
// when the load changes). shutdown_pending is committed: the store is being closed.
#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <string>

#include "pisigner/clock.hpp"

namespace pisigner::hal {

enum class UpsState { not_present, unknown, on_mains, on_battery, critical, shutdown_pending, shutdown };
const char* to_string(UpsState s);

// healthy: serve. degraded: serve, but warn (on battery, readings failing).
// unhealthy: /authorized must fail so HAProxy moves traffic to the other Pi.
enum class Health { healthy, degraded, unhealthy };
const char* to_string(Health h);
Health health_of(UpsState s, bool stale);

struct UpsThresholds {
  double min_soc_percent = 20.0;
  std::chrono::seconds min_runtime{300};
  std::chrono::seconds grace_period{60};
};

struct UpsObservation {
  std::optional<bool> mains_present;          // empty: this poll could not tell
  std::optional<double> soc_percent;
  std::optional<std::chrono::seconds> runtime;
};

struct UpsStep {
  UpsState state = UpsState::unknown;
  bool changed = false;
  bool shutdown_requested = false;  // true while shutdown_pending: run the shutdown sequence
  std::string reason;               // why the state changed (empty if it did not)
};

class UpsPolicy {
 public:
  explicit UpsPolicy(UpsThresholds t) : t_(t) {}

  // Feeds one observation taken at `now`. Not thread-safe (owned by the monitor).
  UpsStep step(const UpsObservation& obs, Clock::TimePoint now);
  // The power-off request was accepted: shutdown_pending -> shutdown.
  void shutdown_done();
  // Hardware missing but optional.
  void mark_not_present() { state_ = UpsState::not_present; }

  UpsState state() const { return state_; }
  // When critical: the time at which shutdown begins.
  std::optional<Clock::TimePoint> shutdown_at() const;

 private:
  UpsThresholds t_;
  UpsState state_ = UpsState::unknown;
  std::optional<Clock::TimePoint> critical_since_;
};

// Runtime to empty: from the discharge current when the capacity is known, otherwise
// from the slope of SoC over the last minutes on battery.
class RuntimeEstimator {
 public:
  explicit RuntimeEstimator(std::optional<double> capacity_mah = std::nullopt) : capacity_mah_(capacity_mah) {}

  // Records a sample; a sample with on_battery=false clears the slope history.
  void add(Clock::TimePoint now, bool on_battery, std::optional<double> soc_percent,
           std::optional<double> current_ma);
  std::optional<std::chrono::seconds> estimate() const;

  static constexpr std::chrono::seconds kWindow{600};     // slope over at most 10 min
  static constexpr std::chrono::seconds kMinSpan{60};     // and at least 1 min of data

 private:
  struct Sample {
    Clock::TimePoint t;
    double soc;
  };
  std::optional<double> capacity_mah_;
  std::deque<Sample> samples_;
  std::optional<double> last_soc_;
  std::optional<double> last_current_ma_;
};

}  // namespace pisigner::hal
