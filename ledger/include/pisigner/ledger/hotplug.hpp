// USB hot-plug notifications for Ledger devices (VID 0x2C97): libusb hotplug callbacks,
// or a polling fallback over hidapi enumeration where hotplug is unsupported; the polling is a job
// of a PeriodicWorker on the injected clock.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pisigner/periodic_worker.hpp"

namespace pisigner::ledger {

enum class HotplugEvent { Arrived, Left };

// Calls the handler from its own thread (libusb) or the timers' thread (polling) until stop() or
// destruction. One handler per watcher.
class HotplugWatcher {
 public:
  using Handler = std::function<void(HotplugEvent)>;
  virtual ~HotplugWatcher() = default;
  // Starts delivering events. False if the mechanism is unavailable.
  virtual bool start(Handler handler) = 0;
  // Stops delivery; no handler call is in progress when it returns. Idempotent.
  virtual void stop() = 0;
  virtual const char* kind() const = 0;  // "libusb", "polling", "fake"
};

// libusb hotplug when the platform supports it (nullptr otherwise).
std::unique_ptr<HotplugWatcher> make_libusb_hotplug();
// The device paths a poll compares; by default the hidapi Ledger interfaces.
using EnumerateFn = std::function<std::vector<std::string>()>;
// Enumerates every `interval` of the timers' clock, as a job of `timers`, and reports set changes
// (Left before Arrived when both happened). start() takes the first enumeration on the calling thread.
std::unique_ptr<HotplugWatcher> make_polling_hotplug(std::shared_ptr<PeriodicWorker> timers,
                                                     std::chrono::milliseconds interval, EnumerateFn enumerate = {});
// libusb hotplug if it starts, else polling on `timers`. Returns a started watcher.
std::unique_ptr<HotplugWatcher> start_hotplug(HotplugWatcher::Handler handler, std::shared_ptr<PeriodicWorker> timers,
                                              std::chrono::milliseconds poll_interval = std::chrono::milliseconds(1000));

// Test double: fire() calls the handler synchronously. Thread-safe.
class FakeHotplugWatcher final : public HotplugWatcher {
 public:
  bool start(Handler handler) override;
  void stop() override;
  const char* kind() const override { return "fake"; }
  void fire(HotplugEvent e);

 private:
  std::mutex mutex_;
  Handler handler_;
};

}  // namespace pisigner::ledger
