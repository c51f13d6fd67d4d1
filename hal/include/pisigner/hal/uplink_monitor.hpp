// Wired/LTE uplink monitor: reads NetworkManager and ModemManager, runs UplinkPolicy and
// (de)activates the LTE profile. A thread-safe snapshot serves health, metrics and
// pisignerctl. An uplink switch is information, never a health failure by itself; so is the
// bus going away, which the monitor survives and recovers from by itself.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "pisigner/clock.hpp"
#include "pisigner/hal/bus.hpp"
#include "pisigner/hal/event_log.hpp"
#include "pisigner/hal/modem_manager.hpp"
#include "pisigner/periodic_worker.hpp"
#include "pisigner/hal/network_manager.hpp"
#include "pisigner/hal/uplink_config.hpp"
#include "pisigner/hal/uplink_policy.hpp"
#include "pisigner/hal/ups_policy.hpp"

namespace sdbus {
class IConnection;
}

namespace pisigner::hal {

struct UplinkSnapshot {
  bool bus_connected = false;   // false while the D-Bus connection is down (being retried)
  std::string bus_error;        // why, while bus_connected is false
  std::uint64_t bus_reconnects = 0;  // connections re-established after a loss or failure
  bool network_manager_present = false;
  UplinkMode mode = UplinkMode::wired;
  bool wired_ok = false;
  bool lte_active = false;
  std::uint32_t connectivity = 0;
  std::string primary_connection_type;
  std::optional<std::chrono::seconds> pending_switch_in;
  MmSnapshot modems;
  UplinkCounters counters;
  Health health = Health::degraded;  // healthy when wired or LTE is up; never unhealthy
  std::uint64_t ticks = 0;
  std::string last_error;
};

class UplinkMonitor {
 public:
  // Connects to `config.bus` itself and runs its event loop. When the bus goes away (or is
  // not there yet) the snapshot says so and every tick past the backoff (0.5 s doubling to
  // 30 s) tries again; once back, signals are re-subscribed and the state re-read.
  UplinkMonitor(UplinkConfig config, Clock& clock);
  // On a connection the caller owns: it must run its event loop and outlive the monitor.
  UplinkMonitor(UplinkConfig config, sdbus::IConnection& bus, Clock& clock);
  ~UplinkMonitor();
  UplinkMonitor(const UplinkMonitor&) = delete;
  UplinkMonitor& operator=(const UplinkMonitor&) = delete;

  // One cycle: (re)connect if due, refresh, decide, act. Never throws. Call from one thread
  // at a time.
  void tick();
  // tick() now and then every poll_interval (sooner after a D-Bus change, or when a reconnect
  // falls due) as a job of `worker`, which must be stopped before the monitor is destroyed.
  // Call once.
  void schedule_on(PeriodicWorker& worker);

  UplinkSnapshot snapshot() const;
  const EventLog& events() const { return events_; }

 private:
  void attach(sdbus::IConnection& bus);
  void detach();
  void maintain_bus();
  void tick_connected();
  void record_down(const std::string& error);
  std::chrono::milliseconds next_wait();
  bool wired_ok(const NmSnapshot& nm) const;
  const NmActiveConnection* lte_connection(const NmSnapshot& nm) const;
  void wake();

  const UplinkConfig config_;
  Clock& clock_;
  EventLog events_;
  UplinkPolicy policy_;  // owned by the ticking thread

  // owned by the ticking thread; clients go before the session whose connection they use
  std::unique_ptr<BusSession> session_;  // null with a caller's bus, or while down
  std::unique_ptr<NetworkManagerClient> nm_;
  std::unique_ptr<ModemManagerClient> mm_;
  const bool owns_bus_;
  Backoff backoff_;
  std::string bus_error_;
  bool ever_connected_ = false;
  std::string lte_active_path_;

  mutable std::mutex mutex_;
  UplinkSnapshot snap_;  // guarded by mutex_

  std::size_t job_ = 0;  // set before worker_
  std::atomic<PeriodicWorker*> worker_{nullptr};
};

}  // namespace pisigner::hal
