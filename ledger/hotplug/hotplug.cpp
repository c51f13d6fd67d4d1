#include "pisigner/ledger/hotplug.hpp"

namespace pisigner::ledger {

std::unique_ptr<HotplugWatcher> start_hotplug(HotplugWatcher::Handler handler, std::shared_ptr<PeriodicWorker> timers,
                                              std::chrono::milliseconds poll_interval) {
  if (auto usb = make_libusb_hotplug(); usb && usb->start(handler)) return usb;
  auto poll = make_polling_hotplug(std::move(timers), poll_interval);
  poll->start(std::move(handler));
  return poll;
}

bool FakeHotplugWatcher::start(Handler handler) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(handler);
  return true;
}

void FakeHotplugWatcher::stop() {
  std::lock_guard lock(mutex_);
  handler_ = nullptr;
}

void FakeHotplugWatcher::fire(HotplugEvent e) {
  std::lock_guard lock(mutex_);
  if (handler_) handler_(e);
}

}  // namespace pisigner::ledger
