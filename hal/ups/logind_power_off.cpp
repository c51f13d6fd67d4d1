// Power-off through logind, so shutdown runs the normal systemd sequence.
#include <sdbus-c++/sdbus-c++.h>

#include <mutex>

#include "../src/dbus_error.hpp"
#include "pisigner/hal/bus.hpp"
#include "pisigner/hal/power_off.hpp"

namespace pisigner::hal {
namespace {

constexpr const char* kService = "org.freedesktop.login1";
constexpr const char* kPath = "/org/freedesktop/login1";
constexpr const char* kManager = "org.freedesktop.login1.Manager";

class LogindPowerOff final : public PowerOff {
 public:
  explicit LogindPowerOff(sdbus::IConnection& bus) : bus_(bus) {}

  Result<void, HalError> power_off() override {
    try {
      auto proxy = sdbus::createProxy(bus_, kService, kPath);
      // interactive=false: a daemon has no one to answer a polkit prompt.
      proxy->callMethod("PowerOff").onInterface(kManager).withArguments(false).withTimeout(std::chrono::seconds(10));
      return {};
    } catch (const sdbus::Error& e) {
      return fail(from_sdbus(e, "logind PowerOff"));
    }
  }

 private:
  sdbus::IConnection& bus_;
};

}  // namespace

std::unique_ptr<PowerOff> make_logind_power_off(sdbus::IConnection& bus) {
  return std::make_unique<LogindPowerOff>(bus);
}

struct ReconnectingPowerOff::Impl {
  explicit Impl(std::string spec) : bus_spec(std::move(spec)) {}

  Result<void, HalError> connect_locked() {
    if (inner) return {};
    auto conn = open_bus(bus_spec);
    if (!conn) return fail(HalError{conn.error().code, "D-Bus " + bus_spec + ": " + conn.error().message});
    this->conn = std::move(*conn);
    inner = make_logind_power_off(*this->conn);
    return {};
  }
  void drop_locked() {
    inner.reset();
    conn.reset();
  }

  const std::string bus_spec;
  std::mutex mutex;
  std::unique_ptr<sdbus::IConnection> conn;  // guarded by mutex; declared before its user
  std::unique_ptr<PowerOff> inner;           // guarded by mutex
};

ReconnectingPowerOff::ReconnectingPowerOff(std::string bus_spec) : impl_(std::make_unique<Impl>(std::move(bus_spec))) {}
ReconnectingPowerOff::~ReconnectingPowerOff() = default;

Result<void, HalError> ReconnectingPowerOff::connect() {
  std::lock_guard lock(impl_->mutex);
  return impl_->connect_locked();
}

Result<void, HalError> ReconnectingPowerOff::power_off() {
  std::lock_guard lock(impl_->mutex);
  // A connection kept from earlier may be dead (the bus restarted since): on failure, try
  // once more on a fresh one before reporting it.
  const bool had_connection = impl_->inner != nullptr;
  for (int attempt = 0; attempt < (had_connection ? 2 : 1); ++attempt) {
    if (auto c = impl_->connect_locked(); !c) return c;
    auto r = impl_->inner->power_off();
    if (r) return r;
    impl_->drop_locked();
    if (attempt + 1 == (had_connection ? 2 : 1)) return r;
  }
  return fail(HalError{Errc::io, "logind PowerOff: not attempted"});
}

}  // namespace pisigner::hal
