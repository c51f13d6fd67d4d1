// Power-off through logind, so shutdown runs the normal systemd sequence.
#include <sdbus-c++/sdbus-c++.h>

#include "../src/dbus_error.hpp"
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

}  // namespace pisigner::hal
