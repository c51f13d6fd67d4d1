#include "pisigner/hal/modem_manager.hpp"

#include <map>
#include <mutex>

#include "dbus_error.hpp"
#include "dbus_props.hpp"

namespace pisigner::hal {
namespace {

constexpr const char* kService = "org.freedesktop.ModemManager1";
constexpr const char* kPath = "/org/freedesktop/ModemManager1";
constexpr const char* kObjectManager = "org.freedesktop.DBus.ObjectManager";
constexpr const char* kModem = "org.freedesktop.ModemManager1.Modem";
constexpr const char* kModem3gpp = "org.freedesktop.ModemManager1.Modem.Modem3gpp";
constexpr const char* kModemPathPrefix = "/org/freedesktop/ModemManager1/Modem/";

using IfaceMap = std::map<std::string, PropMap>;

bool is_modem_path(const std::string& p) { return p.rfind(kModemPathPrefix, 0) == 0; }

// Applies whichever known properties `props` of `iface` carries; others stay as they were.
void apply(ModemInfo& m, const std::string& iface, const PropMap& props) {
  if (iface == kModem) {
    if (props.count("Manufacturer")) m.manufacturer = prop_or<std::string>(props, "Manufacturer");
    if (props.count("Model")) m.model = prop_or<std::string>(props, "Model");
    if (props.count("State")) m.state = prop_or<std::int32_t>(props, "State");
    if (props.count("AccessTechnologies")) m.access_technologies = prop_or<std::uint32_t>(props, "AccessTechnologies");
    if (props.count("SignalQuality")) {
      auto q = prop_or<sdbus::Struct<std::uint32_t, bool>>(props, "SignalQuality");
      m.signal_percent = std::get<0>(q);
      m.signal_recent = std::get<1>(q);
    }
  } else if (iface == kModem3gpp) {
    if (props.count("RegistrationState")) m.registration_state = prop_or<std::uint32_t>(props, "RegistrationState");
    if (props.count("OperatorCode")) m.operator_code = prop_or<std::string>(props, "OperatorCode");
    if (props.count("OperatorName")) m.operator_name = prop_or<std::string>(props, "OperatorName");
  }
}

}  // namespace

struct ModemManagerClient::Impl {
  explicit Impl(sdbus::IConnection& b, std::chrono::milliseconds t) : bus(b), timeout(t) {}

  // Runs the callback under cb_mutex so set_on_change({}) waits for a call in flight.
  void changed() {
    std::lock_guard lock(cb_mutex);
    if (on_change) on_change();
  }

  sdbus::IConnection& bus;
  const std::chrono::milliseconds timeout;
  std::unique_ptr<sdbus::IProxy> object_manager;
  sdbus::Slot props_match;
  sdbus::Slot owner_match;

  mutable std::mutex mutex;
  std::map<std::string, ModemInfo> modems;  // guarded by mutex
  MmSnapshot counters;                      // guarded by mutex (modems unused)
  bool service_present = false;             // guarded by mutex
  bool seen_gone = false;                   // guarded by mutex
  bool needs_resync = true;                 // guarded by mutex
  std::mutex cb_mutex;
  std::function<void()> on_change;          // guarded by cb_mutex
};

ModemManagerClient::ModemManagerClient(sdbus::IConnection& bus, std::chrono::milliseconds call_timeout)
    : impl_(std::make_shared<Impl>(bus, call_timeout)) {
  // Handlers hold a weak reference: a signal racing with destruction finds nothing to do.
  std::weak_ptr<Impl> weak = impl_;
  impl_->object_manager = sdbus::createProxy(bus, kService, kPath);
  impl_->object_manager->uponSignal("InterfacesAdded")
      .onInterface(kObjectManager)
      .call([weak](const sdbus::ObjectPath& path, const IfaceMap& ifaces) {
        auto impl = weak.lock();
        if (!impl || !is_modem_path(path) || !ifaces.count(kModem)) return;
        {
          std::lock_guard lock(impl->mutex);
          auto [it, inserted] = impl->modems.try_emplace(path);
          it->second.path = path;
          for (const auto& [iface, props] : ifaces) apply(it->second, iface, props);
          if (inserted) ++impl->counters.modems_added;
        }
        impl->changed();
      });
  impl_->object_manager->uponSignal("InterfacesRemoved")
      .onInterface(kObjectManager)
      .call([weak](const sdbus::ObjectPath& path, const std::vector<std::string>& ifaces) {
        auto impl = weak.lock();
        if (!impl) return;
        bool modem_gone = false;
        for (const auto& i : ifaces) modem_gone |= i == kModem;
        if (!modem_gone) return;
        {
          std::lock_guard lock(impl->mutex);
          if (impl->modems.erase(path) > 0) ++impl->counters.modems_removed;
        }
        impl->changed();
      });
  impl_->object_manager->finishRegistration();

  impl_->props_match = bus.addMatch(
      "type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
      "path_namespace='/org/freedesktop/ModemManager1'",
      [weak](sdbus::Message& msg) {
        auto impl = weak.lock();
        if (!impl) return;
        try {
          std::string iface;
          PropMap changed;
          std::vector<std::string> invalidated;
          msg >> iface >> changed >> invalidated;
          std::lock_guard lock(impl->mutex);
          auto it = impl->modems.find(msg.getPath());
          if (it == impl->modems.end()) return;
          apply(it->second, iface, changed);
        } catch (const sdbus::Error&) {
          return;  // malformed signal: ignore, the next resync corrects the picture
        }
        impl->changed();
      });

  impl_->owner_match = bus.addMatch(
      "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
      "member='NameOwnerChanged',arg0='org.freedesktop.ModemManager1'",
      [weak](sdbus::Message& msg) {
        auto impl = weak.lock();
        if (!impl) return;
        try {
          std::string name, old_owner, new_owner;
          msg >> name >> old_owner >> new_owner;
          std::lock_guard lock(impl->mutex);
          impl->needs_resync = true;
          if (new_owner.empty()) {
            // The service died: its modems died with it (no InterfacesRemoved will come).
            impl->service_present = false;
            impl->seen_gone = true;
            impl->counters.modems_removed += impl->modems.size();
            impl->modems.clear();
          }
        } catch (const sdbus::Error&) {
          return;
        }
        impl->changed();
      });
}

ModemManagerClient::~ModemManagerClient() {
  impl_->props_match.reset();
  impl_->owner_match.reset();
  impl_->object_manager.reset();
}

void ModemManagerClient::set_on_change(std::function<void()> cb) {
  std::lock_guard lock(impl_->cb_mutex);
  impl_->on_change = std::move(cb);
}

bool ModemManagerClient::needs_resync() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->needs_resync;
}

Result<void, HalError> ModemManagerClient::resync() {
  std::map<sdbus::ObjectPath, IfaceMap> objects;
  try {
    auto proxy = sdbus::createProxy(impl_->bus, kService, kPath);
    proxy->callMethod("GetManagedObjects").onInterface(kObjectManager).withTimeout(impl_->timeout).storeResultsTo(objects);
  } catch (const sdbus::Error& e) {
    std::lock_guard lock(impl_->mutex);
    if (impl_->service_present) impl_->seen_gone = true;
    impl_->service_present = false;
    impl_->modems.clear();
    return fail(from_sdbus(e, "ModemManager GetManagedObjects"));
  }
  std::map<std::string, ModemInfo> fresh;
  for (const auto& [path, ifaces] : objects) {
    if (!is_modem_path(path) || !ifaces.count(kModem)) continue;
    ModemInfo m;
    m.path = path;
    for (const auto& [iface, props] : ifaces) apply(m, iface, props);
    fresh.emplace(path, std::move(m));
  }
  std::lock_guard lock(impl_->mutex);
  for (const auto& [path, m] : fresh) {
    if (!impl_->modems.count(path)) ++impl_->counters.modems_added;
  }
  for (const auto& [path, m] : impl_->modems) {
    if (!fresh.count(path)) ++impl_->counters.modems_removed;
  }
  if (!impl_->service_present && impl_->seen_gone) ++impl_->counters.service_appearances;
  impl_->seen_gone = false;
  impl_->service_present = true;
  impl_->needs_resync = false;
  impl_->modems = std::move(fresh);
  return {};
}

MmSnapshot ModemManagerClient::snapshot() const {
  std::lock_guard lock(impl_->mutex);
  MmSnapshot s = impl_->counters;
  s.service_present = impl_->service_present;
  for (const auto& [path, m] : impl_->modems) s.modems.push_back(m);
  return s;
}

const char* modem_state_name(std::int32_t state) {
  switch (state) {
    case -1: return "failed";
    case 0: return "unknown";
    case 1: return "initializing";
    case 2: return "locked";
    case 3: return "disabled";
    case 4: return "disabling";
    case 5: return "enabling";
    case 6: return "enabled";
    case 7: return "searching";
    case 8: return "registered";
    case 9: return "disconnecting";
    case 10: return "connecting";
    case 11: return "connected";
    default: return "invalid";
  }
}

std::string access_technology_name(std::uint32_t bits) {
  // Best first; values from MMModemAccessTechnology (ModemManager-enums.h).
  static const std::pair<std::uint32_t, const char*> kTable[] = {
      {1u << 15, "5gnr"}, {1u << 14, "lte"},   {1u << 16, "lte-cat-m"}, {1u << 17, "lte-nb-iot"},
      {1u << 9, "hspa+"}, {1u << 8, "hspa"},   {1u << 7, "hsupa"},      {1u << 6, "hsdpa"},
      {1u << 5, "umts"},  {1u << 4, "edge"},   {1u << 3, "gprs"},       {1u << 1, "gsm"},
  };
  for (const auto& [bit, name] : kTable) {
    if (bits & bit) return name;
  }
  return "unknown";
}

}  // namespace pisigner::hal
