#include "pisigner/hal/uplink_policy.hpp"

#include <fmt/format.h>

namespace pisigner::hal {

const char* to_string(UplinkMode m) { return m == UplinkMode::wired ? "wired" : "lte"; }

const char* to_string(UplinkAction a) {
  switch (a) {
    case UplinkAction::none: return "none";
    case UplinkAction::activate_lte: return "activate_lte";
    case UplinkAction::deactivate_lte: return "deactivate_lte";
  }
  return "?";
}

UplinkPolicy::UplinkPolicy(const UplinkConfig& config, Clock& clock, EventLog& log)
    : config_(config), clock_(clock), log_(log) {}

void UplinkPolicy::event(const std::string& kind, const std::string& message, bool warn) {
  log_.add({clock_.unix_seconds(), "uplink", kind, message}, warn);
}

UplinkAction UplinkPolicy::step(const UplinkInput& in) {
  const auto now = clock_.now();
  if (mode_ == UplinkMode::wired) {
    if (in.wired_ok) {
      if (wired_bad_since_) event("wired", "wired connectivity back before failover", false);
      wired_bad_since_.reset();
      return UplinkAction::none;
    }
    if (!wired_bad_since_) {
      wired_bad_since_ = now;
      event("wired", fmt::format("wired connectivity lost; LTE in {} s", config_.failover_after.count()), true);
    }
    if (now - *wired_bad_since_ < config_.failover_after) return UplinkAction::none;
    mode_ = UplinkMode::lte;
    wired_bad_since_.reset();
    wired_good_since_.reset();
    last_activation_ = now;
    ++counters_.failovers;
    ++counters_.activation_attempts;
    event("failover", fmt::format("wired down for {} s: activating LTE", config_.failover_after.count()), true);
    return UplinkAction::activate_lte;
  }

  // mode_ == lte
  if (in.wired_ok) {
    if (!wired_good_since_) {
      wired_good_since_ = now;
      event("wired", fmt::format("wired connectivity back; releasing LTE after {} s stable",
                                 config_.failback_after.count()),
            false);
    }
    if (now - *wired_good_since_ >= config_.failback_after) {
      mode_ = UplinkMode::wired;
      wired_good_since_.reset();
      ++counters_.failbacks;
      event("failback", fmt::format("wired stable for {} s: releasing LTE", config_.failback_after.count()), false);
      return UplinkAction::deactivate_lte;
    }
  } else if (wired_good_since_) {
    wired_good_since_.reset();
    event("wired", "wired connectivity lost again; staying on LTE", true);
  }
  if (!in.lte_active && last_activation_ && now - *last_activation_ >= config_.retry_after) {
    last_activation_ = now;
    ++counters_.activation_attempts;
    event("retry", "LTE wanted but not active: activating again", true);
    return UplinkAction::activate_lte;
  }
  return UplinkAction::none;
}

void UplinkPolicy::record(UplinkAction action, bool ok, const std::string& error) {
  if (action == UplinkAction::none) return;
  if (ok) {
    event("action", fmt::format("{} accepted", to_string(action)), false);
    return;
  }
  if (action == UplinkAction::activate_lte) {
    ++counters_.activation_failures;
  } else {
    // LTE still up: stay in lte mode and try the release again after another hysteresis.
    ++counters_.deactivation_failures;
    mode_ = UplinkMode::lte;
    wired_good_since_.reset();
  }
  event("action", fmt::format("{} failed: {}", to_string(action), error), true);
}

std::optional<std::chrono::seconds> UplinkPolicy::pending_switch_in() const {
  const auto now = clock_.now();
  auto left = [&](Clock::TimePoint since, std::chrono::seconds total) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(now - since);
    return elapsed >= total ? std::chrono::seconds(0) : total - elapsed;
  };
  if (mode_ == UplinkMode::wired && wired_bad_since_) return left(*wired_bad_since_, config_.failover_after);
  if (mode_ == UplinkMode::lte && wired_good_since_) return left(*wired_good_since_, config_.failback_after);
  return std::nullopt;
}

}  // namespace pisigner::hal
