// NetworkManager over D-Bus (org.freedesktop.NetworkManager, NM 1.42 API): primary
// connection, connectivity, devices, active connections; activation of a profile.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pisigner/hal/error.hpp"
#include "pisigner/result.hpp"

namespace sdbus {
class IConnection;
}

namespace pisigner::hal {

namespace nm {
inline constexpr std::uint32_t kDeviceTypeEthernet = 1;
inline constexpr std::uint32_t kDeviceTypeModem = 8;
inline constexpr std::uint32_t kDeviceStateActivated = 100;
inline constexpr std::uint32_t kConnectivityUnknown = 0;
inline constexpr std::uint32_t kConnectivityNone = 1;
inline constexpr std::uint32_t kConnectivityPortal = 2;
inline constexpr std::uint32_t kConnectivityLimited = 3;
inline constexpr std::uint32_t kConnectivityFull = 4;
inline constexpr std::uint32_t kActiveStateActivating = 1;
inline constexpr std::uint32_t kActiveStateActivated = 2;
}  // namespace nm

struct NmDevice {
  std::string path;
  std::string interface;
  std::uint32_t device_type = 0;
  std::uint32_t state = 0;
  std::uint32_t ip4_connectivity = 0;
};

struct NmActiveConnection {
  std::string path;
  std::string id;
  std::string uuid;
  std::string type;
  std::uint32_t state = 0;
};

struct NmSnapshot {
  std::uint32_t state = 0;
  std::uint32_t connectivity = 0;
  std::string primary_connection;       // "/" when none
  std::string primary_connection_type;  // "802-3-ethernet", "gsm", ...
  std::vector<NmDevice> devices;
  std::vector<NmActiveConnection> active;
};

class NetworkManagerClient {
 public:
  // `bus` must outlive the client and run its event loop (enterEventLoopAsync).
  NetworkManagerClient(sdbus::IConnection& bus, std::chrono::milliseconds call_timeout);
  ~NetworkManagerClient();

  // Fresh read of the manager, its devices and active connections. Errc::absent when
  // NetworkManager is not on the bus. Thread-safe.
  Result<NmSnapshot, HalError> read() const;
  // ActivateConnection for the profile whose connection.id or connection.uuid is
  // `id_or_uuid`; returns the active-connection path. Thread-safe.
  Result<std::string, HalError> activate(const std::string& id_or_uuid) const;
  Result<void, HalError> deactivate(const std::string& active_path) const;

  // Called (on the bus thread) whenever NetworkManager reports a property change.
  void set_on_change(std::function<void()> cb);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pisigner::hal
