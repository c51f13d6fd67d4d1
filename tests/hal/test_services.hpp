// Stand-ins for ModemManager, NetworkManager and logind, written with sdbus-c++ against
// the real interface names, object paths, properties and signals (Debian's introspection
// XML under /usr/share/dbus-1/interfaces/). Each owns its connection and well-known name;
// destroying one is a service exit.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace pisigner::hal::testing {

class TestModemManager {
 public:
  explicit TestModemManager(const std::string& bus_address);
  ~TestModemManager();
  // Adds a modem (InterfacesAdded); returns its path. Paths are never reused.
  std::string add_modem(std::uint32_t signal = 70);
  void remove_modem(const std::string& path);  // InterfacesRemoved
  void set_signal(const std::string& path, std::uint32_t percent);  // PropertiesChanged

 private:
  struct Modem {
    std::unique_ptr<sdbus::IObject> object;
    std::uint32_t signal = 0;
  };
  std::unique_ptr<sdbus::IConnection> conn_;
  std::unique_ptr<sdbus::IObject> manager_;
  std::mutex mutex_;
  std::map<std::string, Modem> modems_;
  static inline std::atomic<int> next_index_{0};
};

class TestNetworkManager {
 public:
  explicit TestNetworkManager(const std::string& bus_address);
  ~TestNetworkManager();
  // Wired device eth0 keeps its link; connectivity FULL or NONE.
  void set_wired_connectivity(bool full);
  // false: activating the LTE profile fails (no modem, no coverage), as NetworkManager reports it.
  void set_lte_available(bool available);
  int activations() const { return activations_; }
  int deactivations() const { return deactivations_; }
  bool lte_active() const;

 private:
  void emit_manager_changed();
  std::unique_ptr<sdbus::IConnection> conn_;
  std::unique_ptr<sdbus::IObject> manager_, settings_, wired_profile_, lte_profile_, eth0_, modem_dev_;
  mutable std::mutex mutex_;
  std::unique_ptr<sdbus::IObject> lte_active_;  // guarded by mutex_
  std::string lte_active_path_;                 // guarded by mutex_
  std::uint32_t wired_connectivity_ = 4;        // guarded by mutex_
  bool lte_available_ = true;                   // guarded by mutex_
  int next_active_ = 1;
  std::atomic<int> activations_{0};
  std::atomic<int> deactivations_{0};
};

class TestLogind {
 public:
  explicit TestLogind(const std::string& bus_address);
  ~TestLogind();
  int power_offs() const { return power_offs_; }
  bool last_interactive() const { return last_interactive_; }

 private:
  std::unique_ptr<sdbus::IConnection> conn_;
  std::unique_ptr<sdbus::IObject> manager_;
  std::atomic<int> power_offs_{0};
  std::atomic<bool> last_interactive_{true};
};

}  // namespace pisigner::hal::testing
