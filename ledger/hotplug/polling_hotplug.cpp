// Fallback where libusb hotplug is unavailable: compare hidapi enumerations.
#include <algorithm>
#include <condition_variable>
#include <set>
#include <string>
#include <thread>

#include "pisigner/ledger/hid_device.hpp"
#include "pisigner/ledger/hotplug.hpp"

namespace pisigner::ledger {
namespace {

class PollingHotplug final : public HotplugWatcher {
 public:
  explicit PollingHotplug(std::chrono::milliseconds interval) : interval_(interval) {}
  ~PollingHotplug() override { stop(); }

  bool start(Handler handler) override {
    stop();
    std::lock_guard lock(mutex_);
    stop_ = false;
    thread_ = std::thread([this, h = std::move(handler)] { run(h); });
    return true;
  }

  void stop() override {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  const char* kind() const override { return "polling"; }

 private:
  static std::set<std::string> snapshot() {
    std::set<std::string> paths;
    for (const auto& d : enumerate_ledgers()) paths.insert(d.path);
    return paths;
  }

  void run(const Handler& handler) {
    std::set<std::string> seen = snapshot();
    std::unique_lock lock(mutex_);
    while (!cv_.wait_for(lock, interval_, [&] { return stop_; })) {
      lock.unlock();
      std::set<std::string> now = snapshot();
      const bool left = std::any_of(seen.begin(), seen.end(), [&](const auto& p) { return !now.count(p); });
      const bool arrived = std::any_of(now.begin(), now.end(), [&](const auto& p) { return !seen.count(p); });
      if (left) handler(HotplugEvent::Left);
      if (arrived) handler(HotplugEvent::Arrived);
      seen = std::move(now);
      lock.lock();
    }
  }

  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<HotplugWatcher> make_polling_hotplug(std::chrono::milliseconds interval) {
  return std::make_unique<PollingHotplug>(interval);
}

}  // namespace pisigner::ledger
