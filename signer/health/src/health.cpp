#include "pisigner/health/health.hpp"

namespace pisigner::health {

const char* to_string(State s) {
  switch (s) {
    case State::Ok: return "ok";
    case State::Warning: return "warning";
    case State::Failing: return "failing";
  }
  return "failing";
}

Health::Health(Clock& clock, std::chrono::milliseconds interval, std::chrono::milliseconds max_age)
    : clock_(clock), interval_(interval), max_age_(max_age) {}

void Health::add(std::string name, bool required, Probe probe) {
  std::lock_guard lock(mu_);
  Entry e;
  e.status.name = std::move(name);
  e.status.required = required;
  e.probe = std::move(probe);
  entries_.push_back(std::move(e));
}

void Health::skip_when_busy(const std::string& name) {
  std::lock_guard lock(mu_);
  for (auto& e : entries_) {
    if (e.status.name == name) e.skip_when_busy = true;
  }
}

void Health::report(const std::string& name, ProbeResult result) {
  std::lock_guard lock(mu_);
  for (auto& e : entries_) {
    if (e.status.name != name) continue;
    e.status.state = result.state;
    e.status.detail = std::move(result.detail);
    e.status.updated = clock_.now();
    e.status.probed = true;
  }
}

void Health::probe_once() {
  std::vector<std::pair<std::string, Probe>> todo;
  {
    std::lock_guard lock(mu_);
    const bool busy = busy_ && busy_();
    for (const auto& e : entries_) {
      if (!e.probe) continue;
      if (busy && e.skip_when_busy) continue;
      todo.emplace_back(e.status.name, e.probe);
    }
  }
  // Probes may block for their own deadline; never while holding mu_.
  for (auto& [name, probe] : todo) report(name, probe());
  if (!observer_) return;
  const auto snap = snapshot();
  std::string failing = snap.authorized ? "+" : "-";  // never empty, so the first call reports
  for (const auto& c : snap.checks) {
    if (c.required && (c.state == State::Failing || !c.probed)) failing += c.name + ",";
  }
  std::lock_guard lock(observe_mu_);
  if (failing == last_failing_) return;
  last_failing_ = std::move(failing);
  observer_(snap);
}

void Health::schedule_on(PeriodicWorker& worker) {
  // Waits first: probing again straight after the caller's probe_once() would only send the same
  // APDUs twice at start-up.
  worker.add(
      "health",
      [this] {
        probe_once();
        return Clock::Duration(interval_);
      },
      interval_);
}

Snapshot Health::snapshot() const {
  Snapshot s;
  s.taken = clock_.now();
  s.authorized = true;
  std::lock_guard lock(mu_);
  for (const auto& e : entries_) {
    CheckStatus c = e.status;
    if (c.probed && c.required && s.taken - c.updated > max_age_) {
      c.state = State::Failing;
      c.detail = "stale: not refreshed for " +
                 std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(s.taken - c.updated).count()) +
                 " ms (" + c.detail + ")";
    }
    if (c.required && (c.state == State::Failing || !c.probed)) {
      s.authorized = false;
      if (!s.summary.empty()) s.summary += "; ";
      s.summary += c.name + ": " + c.detail;
    }
    s.checks.push_back(std::move(c));
  }
  if (s.authorized) s.summary = "ok";
  return s;
}

}  // namespace pisigner::health
