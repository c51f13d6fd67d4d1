// The health model: named checks refreshed by a probe loop (or pushed by components), served as a
// snapshot. Readers never run a probe, so /authorized answers in microseconds even when a device hangs.
// The loop is a job of a PeriodicWorker on the injected clock; tests run it with a ManualClock.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "pisigner/clock.hpp"
#include "pisigner/periodic_worker.hpp"

namespace pisigner::health {

enum class State { Ok, Warning, Failing };
const char* to_string(State s);

struct ProbeResult {
  State state = State::Failing;
  std::string detail;
};

struct CheckStatus {
  std::string name;
  bool required = true;  // required checks decide /authorized; others are information
  State state = State::Failing;
  std::string detail = "not probed yet";
  Clock::TimePoint updated{};
  bool probed = false;
};

struct Snapshot {
  std::vector<CheckStatus> checks;
  Clock::TimePoint taken{};
  bool authorized = false;  // every required check Ok/Warning and fresh
  std::string summary;      // "ok" or the failing checks, for logs and sd_notify STATUS=
};

// Thread-safe.
class Health {
 public:
  using Probe = std::function<ProbeResult()>;
  // A required check older than `max_age` counts as failing (the prober is stuck).
  Health(Clock& clock, std::chrono::milliseconds interval, std::chrono::milliseconds max_age);

  // Registers a check before start(). A check without a probe is updated only by report().
  void add(std::string name, bool required, Probe probe = {});
  // Pushes a fresh result (e.g. a successful sign proves the device is alive).
  void report(const std::string& name, ProbeResult result);
  // While `busy()` returns true, probes registered with skip_when_busy are not run.
  void set_busy(std::function<bool()> busy) { busy_ = std::move(busy); }
  void skip_when_busy(const std::string& name);

  // Called from probe_once() when /authorized flips or another set of required checks fails
  // (compared with the previous probe_once(), not with report()s in between). Once, before start.
  void on_change(std::function<void(const Snapshot&)> observer) { observer_ = std::move(observer); }

  void probe_once();
  // The loop: probe_once() every `interval` of the clock, the first after one interval (the caller
  // probes once before, so the first snapshot exists at once), as a job of `worker`. `worker` must
  // be stopped before this Health goes. Once, before the worker starts.
  void schedule_on(PeriodicWorker& worker);

  Snapshot snapshot() const;

 private:
  struct Entry {
    CheckStatus status;
    Probe probe;
    bool skip_when_busy = false;
  };
  Clock& clock_;
  const std::chrono::milliseconds interval_;
  const std::chrono::milliseconds max_age_;
  std::function<bool()> busy_;
  std::function<void(const Snapshot&)> observer_;
  std::mutex observe_mu_;     // serializes probe_once()'s comparison
  std::string last_failing_;  // guarded by observe_mu_; "" = never observed

  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // guarded by mu_ (probes run outside it)
};

}  // namespace pisigner::health
