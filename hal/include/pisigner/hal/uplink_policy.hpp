// The wired/LTE failover rule, clock-injected and free of D-Bus.
//
//   wired ──wired bad for failover_after──▶ lte (activate LTE)
//   lte   ──wired good for failback_after──▶ wired (deactivate LTE)
//
// A wired flap while on LTE restarts the failback timer (hysteresis). In lte mode an LTE
// connection that is not active is requested again every retry_after. Every decision is
// logged and kept in the event log.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pisigner/clock.hpp"
#include "pisigner/hal/event_log.hpp"
#include "pisigner/hal/uplink_config.hpp"

namespace pisigner::hal {

enum class UplinkMode { wired, lte };
const char* to_string(UplinkMode m);

enum class UplinkAction { none, activate_lte, deactivate_lte };
const char* to_string(UplinkAction a);

struct UplinkInput {
  bool wired_ok = false;    // a wired device is activated and has not lost connectivity
  bool lte_active = false;  // the configured LTE connection is activated
};

struct UplinkCounters {
  std::uint64_t failovers = 0;
  std::uint64_t failbacks = 0;
  std::uint64_t activation_attempts = 0;
  std::uint64_t activation_failures = 0;
  std::uint64_t deactivation_failures = 0;
};

class UplinkPolicy {
 public:
  // `clock` and `log` must outlive the policy.
  UplinkPolicy(const UplinkConfig& config, Clock& clock, EventLog& log);

  // One decision. Not thread-safe (owned by the monitor).
  UplinkAction step(const UplinkInput& in);
  // Outcome of executing the action step() returned.
  void record(UplinkAction action, bool ok, const std::string& error = {});

  UplinkMode mode() const { return mode_; }
  const UplinkCounters& counters() const { return counters_; }
  // Seconds until the pending switch happens, if one is pending.
  std::optional<std::chrono::seconds> pending_switch_in() const;

 private:
  void event(const std::string& kind, const std::string& message, bool warn);

  const UplinkConfig config_;
  Clock& clock_;
  EventLog& log_;
  UplinkMode mode_ = UplinkMode::wired;
  std::optional<Clock::TimePoint> wired_bad_since_;
  std::optional<Clock::TimePoint> wired_good_since_;
  std::optional<Clock::TimePoint> last_activation_;
  UplinkCounters counters_;
};

}  // namespace pisigner::hal
