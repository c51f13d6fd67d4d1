// Fallback where libusb hotplug is unavailable: compare enumerations, as a job of the shared
// periodic worker (no thread of its own, and tests move a ManualClock instead of sleeping).
#include <algorithm>
#include <set>
#include <string>

#include "pisigner/ledger/hid_device.hpp"
#include "pisigner/ledger/hotplug.hpp"

namespace pisigner::ledger {
namespace {

std::vector<std::string> ledger_paths() {
  std::vector<std::string> paths;
  for (const auto& d : enumerate_ledgers()) paths.push_back(d.path);
  return paths;
}

class PollingHotplug final : public HotplugWatcher {
 public:
  PollingHotplug(std::shared_ptr<PeriodicWorker> timers, std::chrono::milliseconds interval, EnumerateFn enumerate)
      : timers_(std::move(timers)), interval_(interval), enumerate_(enumerate ? std::move(enumerate) : ledger_paths) {}
  ~PollingHotplug() override { stop(); }

  bool start(Handler handler) override {
    stop();
    // Set before add(): the job reads them on the timers' thread only after that.
    handler_ = std::move(handler);
    seen_ = snapshot();
    job_ = timers_->add("ledger hot-plug poll", [this] { return poll(); }, interval_);
    running_ = true;
    return true;
  }

  // remove() returns once a poll in progress has ended, so no handler call outlives stop().
  void stop() override {
    if (!running_) return;
    timers_->remove(job_);
    running_ = false;
  }

  const char* kind() const override { return "polling"; }

 private:
  std::set<std::string> snapshot() const {
    auto paths = enumerate_();
    return {paths.begin(), paths.end()};
  }

  Clock::Duration poll() {
    std::set<std::string> now = snapshot();
    const bool left = std::any_of(seen_.begin(), seen_.end(), [&](const auto& p) { return !now.count(p); });
    const bool arrived = std::any_of(now.begin(), now.end(), [&](const auto& p) { return !seen_.count(p); });
    seen_ = std::move(now);
    if (left) handler_(HotplugEvent::Left);
    if (arrived) handler_(HotplugEvent::Arrived);
    return interval_;
  }

  // Constant after construction.
  const std::shared_ptr<PeriodicWorker> timers_;
  const std::chrono::milliseconds interval_;
  const EnumerateFn enumerate_;

  // The owner's thread (start/stop).
  std::size_t job_ = 0;
  bool running_ = false;

  // The timers' thread while the job is registered; start() before registering it.
  Handler handler_;
  std::set<std::string> seen_;
};

}  // namespace

std::unique_ptr<HotplugWatcher> make_polling_hotplug(std::shared_ptr<PeriodicWorker> timers,
                                                     std::chrono::milliseconds interval, EnumerateFn enumerate) {
  return std::make_unique<PollingHotplug>(std::move(timers), interval, std::move(enumerate));
}

}  // namespace pisigner::ledger
