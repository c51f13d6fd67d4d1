// libusb hotplug callbacks for the Ledger vendor id, delivered from an event thread.
#include <libusb.h>

#include <atomic>
#include <thread>

#include "pisigner/ledger/hotplug.hpp"
#include "pisigner/ledger/protocol.hpp"

namespace pisigner::ledger {
namespace {

struct ContextDeleter {
  void operator()(libusb_context* c) const { libusb_exit(c); }
};
using ContextPtr = std::unique_ptr<libusb_context, ContextDeleter>;

class LibusbHotplug final : public HotplugWatcher {
 public:
  explicit LibusbHotplug(ContextPtr ctx) : ctx_(std::move(ctx)) {}
  ~LibusbHotplug() override { stop(); }

  bool start(Handler handler) override {
    stop();
    handler_ = std::move(handler);
    const int rc = libusb_hotplug_register_callback(
        ctx_.get(),
        static_cast<libusb_hotplug_event>(LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT),
        LIBUSB_HOTPLUG_NO_FLAGS, kLedgerVendorId, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, &LibusbHotplug::on_event,
        this, &handle_);
    if (rc != LIBUSB_SUCCESS) return false;
    registered_ = true;
    running_ = true;
    thread_ = std::thread([this] {
      while (running_) {
        // Short timeout so stop() is noticed promptly.
        timeval tv{0, 200'000};
        libusb_handle_events_timeout_completed(ctx_.get(), &tv, nullptr);
      }
    });
    return true;
  }

  void stop() override {
    running_ = false;
    if (thread_.joinable()) {
      libusb_interrupt_event_handler(ctx_.get());  // wake the event thread now
      thread_.join();
    }
    if (registered_) libusb_hotplug_deregister_callback(ctx_.get(), handle_);
    registered_ = false;
  }

  const char* kind() const override { return "libusb"; }

 private:
  static int LIBUSB_CALL on_event(libusb_context*, libusb_device*, libusb_hotplug_event event, void* self) {
    auto* w = static_cast<LibusbHotplug*>(self);
    if (w->handler_) {
      w->handler_(event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED ? HotplugEvent::Arrived : HotplugEvent::Left);
    }
    return 0;  // stay registered
  }

  ContextPtr ctx_;
  Handler handler_;
  libusb_hotplug_callback_handle handle_ = 0;
  bool registered_ = false;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace

std::unique_ptr<HotplugWatcher> make_libusb_hotplug() {
  if (libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG) == 0) return nullptr;
  libusb_context* raw = nullptr;
  if (libusb_init(&raw) != LIBUSB_SUCCESS) return nullptr;
  return std::make_unique<LibusbHotplug>(ContextPtr(raw));
}

}  // namespace pisigner::ledger
