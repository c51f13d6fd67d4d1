#include "test_services.hpp"

namespace pisigner::hal::testing {
namespace {

constexpr const char* kMm = "org.freedesktop.ModemManager1";
constexpr const char* kMmPath = "/org/freedesktop/ModemManager1";
constexpr const char* kModem = "org.freedesktop.ModemManager1.Modem";
constexpr const char* kModem3gpp = "org.freedesktop.ModemManager1.Modem.Modem3gpp";
constexpr const char* kNm = "org.freedesktop.NetworkManager";
constexpr const char* kNmPath = "/org/freedesktop/NetworkManager";
constexpr const char* kSettings = "org.freedesktop.NetworkManager.Settings";
constexpr const char* kSettingsConn = "org.freedesktop.NetworkManager.Settings.Connection";
constexpr const char* kDevice = "org.freedesktop.NetworkManager.Device";
constexpr const char* kActive = "org.freedesktop.NetworkManager.Connection.Active";
constexpr const char* kLteUuid = "5b0d9a34-3c3e-4c6e-9a53-1c2f6a1e0b11";

std::unique_ptr<sdbus::IConnection> connect(const std::string& address, const std::string& name) {
  auto conn = sdbus::createSessionBusConnectionWithAddress(address);
  conn->requestName(name);
  conn->enterEventLoopAsync();
  return conn;
}

using Settings = std::map<std::string, std::map<std::string, sdbus::Variant>>;

std::unique_ptr<sdbus::IObject> profile(sdbus::IConnection& c, const std::string& path, const std::string& id,
                                        const std::string& uuid, const std::string& type) {
  auto o = sdbus::createObject(c, path);
  o->registerMethod("GetSettings").onInterface(kSettingsConn).implementedAs([id, uuid, type]() {
    Settings s;
    s["connection"]["id"] = sdbus::Variant(id);
    s["connection"]["uuid"] = sdbus::Variant(uuid);
    s["connection"]["type"] = sdbus::Variant(type);
    return s;
  });
  o->finishRegistration();
  return o;
}

std::unique_ptr<sdbus::IObject> device(sdbus::IConnection& c, const std::string& path, const std::string& iface,
                                       std::uint32_t type, std::function<std::uint32_t()> connectivity) {
  auto o = sdbus::createObject(c, path);
  o->registerProperty("Interface").onInterface(kDevice).withGetter([iface] { return iface; });
  o->registerProperty("DeviceType").onInterface(kDevice).withGetter([type] { return type; });
  o->registerProperty("State").onInterface(kDevice).withGetter([] { return std::uint32_t{100}; });
  o->registerProperty("Ip4Connectivity").onInterface(kDevice).withGetter(std::move(connectivity));
  o->finishRegistration();
  return o;
}

}  // namespace

// ---- ModemManager ----

TestModemManager::TestModemManager(const std::string& bus_address) : conn_(connect(bus_address, kMm)) {
  manager_ = sdbus::createObject(*conn_, kMmPath);
  manager_->addObjectManager();
  manager_->finishRegistration();
}

TestModemManager::~TestModemManager() {
  {
    std::lock_guard lock(mutex_);
    modems_.clear();
  }
  manager_.reset();
  conn_->leaveEventLoop();
}

std::string TestModemManager::add_modem(std::uint32_t signal) {
  const std::string path = std::string(kMmPath) + "/Modem/" + std::to_string(next_index_++);
  auto o = sdbus::createObject(*conn_, path);
  o->registerProperty("State").onInterface(kModem).withGetter([] { return std::int32_t{8}; });  // registered
  o->registerProperty("Manufacturer").onInterface(kModem).withGetter([] { return std::string("Quectel"); });
  o->registerProperty("Model").onInterface(kModem).withGetter([] { return std::string("EC25"); });
  o->registerProperty("AccessTechnologies").onInterface(kModem).withGetter([] { return std::uint32_t{1u << 14}; });
  o->registerProperty("SignalQuality").onInterface(kModem).withGetter([this, path] {
    std::lock_guard lock(mutex_);
    return sdbus::Struct<std::uint32_t, bool>(modems_[path].signal, true);
  });
  o->registerProperty("RegistrationState").onInterface(kModem3gpp).withGetter([] { return std::uint32_t{1}; });
  o->registerProperty("OperatorCode").onInterface(kModem3gpp).withGetter([] { return std::string("26201"); });
  o->registerProperty("OperatorName").onInterface(kModem3gpp).withGetter([] { return std::string("Telekom.de"); });
  o->finishRegistration();
  sdbus::IObject* raw = o.get();
  {
    std::lock_guard lock(mutex_);
    modems_[path] = Modem{std::move(o), signal};
  }
  raw->emitInterfacesAddedSignal();
  return path;
}

void TestModemManager::remove_modem(const std::string& path) {
  std::unique_ptr<sdbus::IObject> o;
  {
    std::lock_guard lock(mutex_);
    o = std::move(modems_[path].object);
    modems_.erase(path);
  }
  if (o) o->emitInterfacesRemovedSignal();
}

void TestModemManager::set_signal(const std::string& path, std::uint32_t percent) {
  sdbus::IObject* raw = nullptr;
  {
    std::lock_guard lock(mutex_);
    modems_[path].signal = percent;
    raw = modems_[path].object.get();
  }
  raw->emitPropertiesChangedSignal(kModem, {"SignalQuality"});
}

// ---- NetworkManager ----

TestNetworkManager::TestNetworkManager(const std::string& bus_address) : conn_(connect(bus_address, kNm)) {
  auto& c = *conn_;
  wired_profile_ = profile(c, "/org/freedesktop/NetworkManager/Settings/1", "Wired connection 1",
                           "1f0e9b2a-0000-4000-8000-000000000001", "802-3-ethernet");
  lte_profile_ = profile(c, "/org/freedesktop/NetworkManager/Settings/2", "lte", kLteUuid, "gsm");
  eth0_ = device(c, "/org/freedesktop/NetworkManager/Devices/1", "eth0", 1, [this] {
    std::lock_guard lock(mutex_);
    return wired_connectivity_;
  });
  modem_dev_ = device(c, "/org/freedesktop/NetworkManager/Devices/2", "cdc-wdm0", 8, [] { return std::uint32_t{0}; });

  settings_ = sdbus::createObject(c, "/org/freedesktop/NetworkManager/Settings");
  settings_->registerMethod("ListConnections").onInterface(kSettings).implementedAs([] {
    return std::vector<sdbus::ObjectPath>{sdbus::ObjectPath("/org/freedesktop/NetworkManager/Settings/1"),
                                          sdbus::ObjectPath("/org/freedesktop/NetworkManager/Settings/2")};
  });
  settings_->finishRegistration();

  manager_ = sdbus::createObject(c, kNmPath);
  manager_->registerProperty("State").onInterface(kNm).withGetter([] { return std::uint32_t{70}; });
  manager_->registerProperty("Connectivity").onInterface(kNm).withGetter([this] {
    std::lock_guard lock(mutex_);
    return lte_active_ ? std::uint32_t{4} : wired_connectivity_;
  });
  manager_->registerProperty("PrimaryConnectionType").onInterface(kNm).withGetter([this] {
    std::lock_guard lock(mutex_);
    return std::string(wired_connectivity_ == 4 || !lte_active_ ? "802-3-ethernet" : "gsm");
  });
  manager_->registerProperty("PrimaryConnection").onInterface(kNm).withGetter([] {
    return sdbus::ObjectPath("/org/freedesktop/NetworkManager/ActiveConnection/0");
  });
  manager_->registerProperty("Devices").onInterface(kNm).withGetter([] {
    return std::vector<sdbus::ObjectPath>{sdbus::ObjectPath("/org/freedesktop/NetworkManager/Devices/1"),
                                          sdbus::ObjectPath("/org/freedesktop/NetworkManager/Devices/2")};
  });
  manager_->registerProperty("ActiveConnections").onInterface(kNm).withGetter([this] {
    std::lock_guard lock(mutex_);
    std::vector<sdbus::ObjectPath> out;
    if (lte_active_) out.emplace_back(lte_active_path_);
    return out;
  });
  manager_->registerMethod("ActivateConnection")
      .onInterface(kNm)
      .implementedAs([this](const sdbus::ObjectPath& conn, const sdbus::ObjectPath&, const sdbus::ObjectPath&) {
        if (conn != "/org/freedesktop/NetworkManager/Settings/2") {
          throw sdbus::Error("org.freedesktop.NetworkManager.UnknownConnection", "only the LTE profile here");
        }
        std::lock_guard lock(mutex_);
        if (!lte_available_) {
          throw sdbus::Error("org.freedesktop.NetworkManager.Device.NotAllowed", "no modem available for lte");
        }
        lte_active_path_ = "/org/freedesktop/NetworkManager/ActiveConnection/" + std::to_string(next_active_++);
        lte_active_ = sdbus::createObject(*conn_, lte_active_path_);
        lte_active_->registerProperty("Id").onInterface(kActive).withGetter([] { return std::string("lte"); });
        lte_active_->registerProperty("Uuid").onInterface(kActive).withGetter([] { return std::string(kLteUuid); });
        lte_active_->registerProperty("Type").onInterface(kActive).withGetter([] { return std::string("gsm"); });
        lte_active_->registerProperty("State").onInterface(kActive).withGetter([] { return std::uint32_t{2}; });
        lte_active_->finishRegistration();
        ++activations_;
        return sdbus::ObjectPath(lte_active_path_);
      });
  manager_->registerMethod("DeactivateConnection").onInterface(kNm).implementedAs([this](const sdbus::ObjectPath& p) {
    std::lock_guard lock(mutex_);
    if (!lte_active_ || p != lte_active_path_) {
      throw sdbus::Error("org.freedesktop.NetworkManager.ConnectionNotActive", "not active");
    }
    lte_active_.reset();
    ++deactivations_;
  });
  manager_->finishRegistration();
}

TestNetworkManager::~TestNetworkManager() { conn_->leaveEventLoop(); }

bool TestNetworkManager::lte_active() const {
  std::lock_guard lock(mutex_);
  return lte_active_ != nullptr;
}

void TestNetworkManager::set_lte_available(bool available) {
  std::lock_guard lock(mutex_);
  lte_available_ = available;
}

void TestNetworkManager::set_wired_connectivity(bool full) {
  {
    std::lock_guard lock(mutex_);
    wired_connectivity_ = full ? 4 : 1;
  }
  eth0_->emitPropertiesChangedSignal(kDevice, {"Ip4Connectivity"});
  manager_->emitPropertiesChangedSignal(kNm, {"Connectivity"});
}

// ---- logind ----

TestLogind::TestLogind(const std::string& bus_address) : conn_(connect(bus_address, "org.freedesktop.login1")) {
  manager_ = sdbus::createObject(*conn_, "/org/freedesktop/login1");
  manager_->registerMethod("PowerOff").onInterface("org.freedesktop.login1.Manager").implementedAs([this](bool interactive) {
    last_interactive_ = interactive;
    ++power_offs_;
  });
  manager_->finishRegistration();
}

TestLogind::~TestLogind() { conn_->leaveEventLoop(); }

}  // namespace pisigner::hal::testing
