// The health model: named checks refreshed by a probe loop (or pushed by components), served as a
// snapshot. Readers never run a probe, so /authorized answers in microseconds even when a device hangs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pisigner/clock.hpp"

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
  ~Health();

  // Registers a check before start(). A check without a probe is updated only by report().
  void add(std::string name, bool required, Probe probe = {});
  // Pushes a fresh result (e.g. a successful sign proves the device is alive).
  void report(const std::string& name, ProbeResult result);
  // While `busy()` returns true, probes registered with skip_when_busy are not run.
  void set_busy(std::function<bool()> busy) { busy_ = std::move(busy); }
  void skip_when_busy(const std::string& name);

  void probe_once();
  void start();  // background loop: a probe every `interval`, the first after one interval
  void stop();

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

  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // guarded by mu_ (probes run outside it)
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace pisigner::health
