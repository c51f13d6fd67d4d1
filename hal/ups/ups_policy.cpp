#include "pisigner/hal/ups_policy.hpp"

#include <cmath>

namespace pisigner::hal {

const char* to_string(UpsState s) {
  switch (s) {
    case UpsState::not_present: return "not_present";
    case UpsState::unknown: return "unknown";
    case UpsState::on_mains: return "on_mains";
    case UpsState::on_battery: return "on_battery";
    case UpsState::critical: return "critical";
    case UpsState::shutdown_pending: return "shutdown_pending";
    case UpsState::shutdown: return "shutdown";
  }
  return "?";
}

const char* to_string(Health h) {
  switch (h) {
    case Health::healthy: return "healthy";
    case Health::degraded: return "degraded";
    case Health::unhealthy: return "unhealthy";
  }
  return "?";
}

Health health_of(UpsState s, bool stale) {
  switch (s) {
    case UpsState::not_present: return Health::healthy;
    case UpsState::on_mains: return stale ? Health::degraded : Health::healthy;
    case UpsState::unknown:
    case UpsState::on_battery: return Health::degraded;
    case UpsState::critical:
    case UpsState::shutdown_pending:
    case UpsState::shutdown: return Health::unhealthy;
  }
  return Health::unhealthy;
}

UpsStep UpsPolicy::step(const UpsObservation& obs, Clock::TimePoint now) {
  UpsStep out;
  const UpsState before = state_;
  if (state_ == UpsState::shutdown_pending || state_ == UpsState::shutdown || state_ == UpsState::not_present) {
    out.state = state_;
    out.shutdown_requested = state_ == UpsState::shutdown_pending;
    return out;
  }
  if (!obs.mains_present) {
    // Nothing to decide on; keep the last state, but a grace period already running keeps
    // running (a dead gauge during a power cut must not postpone shutdown forever).
    if (state_ == UpsState::critical && critical_since_ && now - *critical_since_ >= t_.grace_period) {
      state_ = UpsState::shutdown_pending;
      out.reason = "critical for the grace period (readings unavailable)";
    }
  } else if (*obs.mains_present) {
    state_ = UpsState::on_mains;
    critical_since_.reset();
    if (before != UpsState::on_mains) out.reason = "mains present";
  } else {
    const bool low_soc = obs.soc_percent && *obs.soc_percent <= t_.min_soc_percent;
    const bool low_runtime = obs.runtime && *obs.runtime <= t_.min_runtime;
    if (state_ == UpsState::critical) {
      if (now - *critical_since_ >= t_.grace_period) {
        state_ = UpsState::shutdown_pending;
        out.reason = "critical for the grace period";
      }
    } else if (low_soc || low_runtime) {
      state_ = UpsState::critical;
      critical_since_ = now;
      out.reason = low_soc ? "state of charge at or below threshold" : "estimated runtime at or below threshold";
      if (t_.grace_period.count() == 0) state_ = UpsState::shutdown_pending;
    } else {
      state_ = UpsState::on_battery;
      if (before != UpsState::on_battery) out.reason = "mains lost";
    }
  }
  out.state = state_;
  out.changed = state_ != before;
  out.shutdown_requested = state_ == UpsState::shutdown_pending;
  return out;
}

void UpsPolicy::shutdown_done() {
  if (state_ == UpsState::shutdown_pending) state_ = UpsState::shutdown;
}

std::optional<Clock::TimePoint> UpsPolicy::shutdown_at() const {
  if (state_ != UpsState::critical || !critical_since_) return std::nullopt;
  return *critical_since_ + t_.grace_period;
}

void RuntimeEstimator::add(Clock::TimePoint now, bool on_battery, std::optional<double> soc_percent,
                           std::optional<double> current_ma) {
  last_soc_ = soc_percent;
  last_current_ma_ = current_ma;
  if (!on_battery) {
    samples_.clear();
    return;
  }
  if (soc_percent) samples_.push_back({now, *soc_percent});
  while (!samples_.empty() && now - samples_.front().t > kWindow) samples_.pop_front();
}

std::optional<std::chrono::seconds> RuntimeEstimator::estimate() const {
  using std::chrono::seconds;
  if (capacity_mah_ && last_soc_ && last_current_ma_ && *last_current_ma_ < 0) {
    const double hours = (*last_soc_ / 100.0) * *capacity_mah_ / -*last_current_ma_;
    return seconds(static_cast<seconds::rep>(hours * 3600.0));
  }
  if (samples_.size() < 2) return std::nullopt;
  const auto& a = samples_.front();
  const auto& b = samples_.back();
  const double span = std::chrono::duration<double>(b.t - a.t).count();
  if (span < static_cast<double>(kMinSpan.count())) return std::nullopt;
  const double slope = (b.soc - a.soc) / span;  // percent per second, negative when draining
  if (slope >= 0) return std::nullopt;
  return seconds(static_cast<seconds::rep>(std::floor(b.soc / -slope)));
}

}  // namespace pisigner::hal
