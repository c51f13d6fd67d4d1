#include "pisigner/hal/network_manager.hpp"

#include <mutex>

#include "dbus_error.hpp"
#include "dbus_props.hpp"

namespace pisigner::hal {
namespace {

constexpr const char* kService = "org.freedesktop.NetworkManager";
constexpr const char* kPath = "/org/freedesktop/NetworkManager";
constexpr const char* kManager = "org.freedesktop.NetworkManager";
constexpr const char* kSettingsPath = "/org/freedesktop/NetworkManager/Settings";
constexpr const char* kSettings = "org.freedesktop.NetworkManager.Settings";
constexpr const char* kSettingsConnection = "org.freedesktop.NetworkManager.Settings.Connection";
constexpr const char* kDevice = "org.freedesktop.NetworkManager.Device";
constexpr const char* kActive = "org.freedesktop.NetworkManager.Connection.Active";

}  // namespace

struct NetworkManagerClient::Impl {
  Impl(sdbus::IConnection& b, std::chrono::milliseconds t) : bus(b), timeout(t) {}
  sdbus::IConnection& bus;
  const std::chrono::milliseconds timeout;
  std::mutex mutex;
  std::function<void()> on_change;  // guarded by mutex
  sdbus::Slot match;
};

NetworkManagerClient::NetworkManagerClient(sdbus::IConnection& bus, std::chrono::milliseconds call_timeout)
    : impl_(std::make_unique<Impl>(bus, call_timeout)) {
  Impl* impl = impl_.get();
  impl_->match = bus.addMatch(
      "type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
      "path_namespace='/org/freedesktop/NetworkManager'",
      [impl](sdbus::Message&) {
        // Under the lock so set_on_change({}) waits for a call in flight.
        std::lock_guard lock(impl->mutex);
        if (impl->on_change) impl->on_change();
      });
}

NetworkManagerClient::~NetworkManagerClient() { impl_->match.reset(); }

void NetworkManagerClient::set_on_change(std::function<void()> cb) {
  std::lock_guard lock(impl_->mutex);
  impl_->on_change = std::move(cb);
}

Result<NmSnapshot, HalError> NetworkManagerClient::read() const {
  try {
    auto& bus = impl_->bus;
    const auto t = impl_->timeout;
    const PropMap m = get_all(bus, kService, kPath, kManager, t);
    NmSnapshot s;
    s.state = prop_or<std::uint32_t>(m, "State");
    s.connectivity = prop_or<std::uint32_t>(m, "Connectivity");
    s.primary_connection = prop_or<sdbus::ObjectPath>(m, "PrimaryConnection", sdbus::ObjectPath("/"));
    s.primary_connection_type = prop_or<std::string>(m, "PrimaryConnectionType");
    for (const auto& path : prop_or<std::vector<sdbus::ObjectPath>>(m, "Devices")) {
      const PropMap d = get_all(bus, kService, path, kDevice, t);
      NmDevice dev;
      dev.path = path;
      dev.interface = prop_or<std::string>(d, "Interface");
      dev.device_type = prop_or<std::uint32_t>(d, "DeviceType");
      dev.state = prop_or<std::uint32_t>(d, "State");
      dev.ip4_connectivity = prop_or<std::uint32_t>(d, "Ip4Connectivity");
      s.devices.push_back(std::move(dev));
    }
    for (const auto& path : prop_or<std::vector<sdbus::ObjectPath>>(m, "ActiveConnections")) {
      const PropMap a = get_all(bus, kService, path, kActive, t);
      NmActiveConnection ac;
      ac.path = path;
      ac.id = prop_or<std::string>(a, "Id");
      ac.uuid = prop_or<std::string>(a, "Uuid");
      ac.type = prop_or<std::string>(a, "Type");
      ac.state = prop_or<std::uint32_t>(a, "State");
      s.active.push_back(std::move(ac));
    }
    return s;
  } catch (const sdbus::Error& e) {
    return fail(from_sdbus(e, "NetworkManager read"));
  }
}

Result<std::string, HalError> NetworkManagerClient::activate(const std::string& id_or_uuid) const {
  try {
    auto& bus = impl_->bus;
    const auto t = impl_->timeout;
    auto settings = sdbus::createProxy(bus, kService, kSettingsPath);
    std::vector<sdbus::ObjectPath> conns;
    settings->callMethod("ListConnections").onInterface(kSettings).withTimeout(t).storeResultsTo(conns);
    std::optional<sdbus::ObjectPath> found;
    for (const auto& c : conns) {
      std::map<std::string, std::map<std::string, sdbus::Variant>> cfg;
      auto proxy = sdbus::createProxy(bus, kService, c);
      proxy->callMethod("GetSettings").onInterface(kSettingsConnection).withTimeout(t).storeResultsTo(cfg);
      const auto& section = cfg["connection"];
      if (prop_or<std::string>(section, "uuid") == id_or_uuid || prop_or<std::string>(section, "id") == id_or_uuid) {
        found = c;
        break;
      }
    }
    if (!found) return fail(HalError{Errc::invalid, "no NetworkManager profile with id or uuid " + id_or_uuid});
    auto manager = sdbus::createProxy(bus, kService, kPath);
    sdbus::ObjectPath active;
    // device "/" and specific object "/": NM picks the device the profile fits (the modem).
    manager->callMethod("ActivateConnection")
        .onInterface(kManager)
        .withArguments(*found, sdbus::ObjectPath("/"), sdbus::ObjectPath("/"))
        .withTimeout(t)
        .storeResultsTo(active);
    return std::string(active);
  } catch (const sdbus::Error& e) {
    return fail(from_sdbus(e, "NetworkManager ActivateConnection " + id_or_uuid));
  }
}

Result<void, HalError> NetworkManagerClient::deactivate(const std::string& active_path) const {
  try {
    auto manager = sdbus::createProxy(impl_->bus, kService, kPath);
    manager->callMethod("DeactivateConnection")
        .onInterface(kManager)
        .withArguments(sdbus::ObjectPath(active_path))
        .withTimeout(impl_->timeout);
    return {};
  } catch (const sdbus::Error& e) {
    return fail(from_sdbus(e, "NetworkManager DeactivateConnection " + active_path));
  }
}

}  // namespace pisigner::hal
