#include "pisigner/hal/uplink_monitor.hpp"

#include <fmt/format.h>
#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>

namespace pisigner::hal {

UplinkMonitor::UplinkMonitor(UplinkConfig config, Clock& clock)
    : config_(std::move(config)), clock_(clock), policy_(config_, clock_, events_), owns_bus_(true) {}

UplinkMonitor::UplinkMonitor(UplinkConfig config, sdbus::IConnection& bus, Clock& clock)
    : config_(std::move(config)), clock_(clock), policy_(config_, clock_, events_), owns_bus_(false) {
  attach(bus);
}

UplinkMonitor::~UplinkMonitor() { detach(); }

void UplinkMonitor::attach(sdbus::IConnection& bus) {
  nm_ = std::make_unique<NetworkManagerClient>(bus, config_.call_timeout);
  mm_ = std::make_unique<ModemManagerClient>(bus, config_.call_timeout);
  nm_->set_on_change([this] { wake(); });
  mm_->set_on_change([this] { wake(); });
}

// The loop first (no handler runs after this), then the clients' slots and proxies, then
// the connection they were made on.
void UplinkMonitor::detach() {
  if (session_) session_->stop_loop();
  if (nm_) nm_->set_on_change({});
  if (mm_) mm_->set_on_change({});
  mm_.reset();
  nm_.reset();
  session_.reset();
}

void UplinkMonitor::maintain_bus() {
  const auto now = clock_.now();
  if (session_ && session_->lost()) {
    bus_error_ = fmt::format("D-Bus {} gone ({}); reconnecting", config_.bus, session_->lost_reason());
    events_.add({clock_.unix_seconds(), "uplink", "bus", bus_error_}, true);
    detach();
    backoff_.failed(now);
  }
  if (session_ || !backoff_.due(now)) return;
  auto opened = BusSession::open(config_.bus);
  if (!opened) {
    backoff_.failed(now);
    bus_error_ = fmt::format("D-Bus {} unreachable: {}; retrying in {} ms", config_.bus, opened.error().message,
                             std::chrono::duration_cast<std::chrono::milliseconds>(backoff_.remaining(now)).count());
    if (backoff_.failures() == 1) events_.add({clock_.unix_seconds(), "uplink", "bus", bus_error_}, true);
    return;
  }
  try {
    session_ = std::move(*opened);
    attach(session_->connection());
    session_->start_loop([this] { wake(); });
  } catch (const sdbus::Error& e) {
    // The bus went away again while subscribing.
    detach();
    backoff_.failed(now);
    bus_error_ = fmt::format("D-Bus {}: subscribing failed: {}", config_.bus, e.getMessage());
    return;
  }
  if (ever_connected_ || backoff_.failures() > 0) {
    events_.add({clock_.unix_seconds(), "uplink", "bus",
                 fmt::format("D-Bus {} connected after {} failed attempts", config_.bus, backoff_.failures())},
                false);
    std::lock_guard lock(mutex_);
    ++snap_.bus_reconnects;
  }
  ever_connected_ = true;
  backoff_.reset();
  bus_error_.clear();
}

bool UplinkMonitor::wired_ok(const NmSnapshot& nm) const {
  for (const auto& d : nm.devices) {
    if (d.device_type != nm::kDeviceTypeEthernet) continue;
    if (!config_.wired_interface.empty() && d.interface != config_.wired_interface) continue;
    if (d.state != nm::kDeviceStateActivated) continue;
    // UNKNOWN means NM's connectivity check is off: an activated link is all we know.
    if (d.ip4_connectivity == nm::kConnectivityFull || d.ip4_connectivity == nm::kConnectivityUnknown) return true;
  }
  return false;
}

const NmActiveConnection* UplinkMonitor::lte_connection(const NmSnapshot& nm) const {
  for (const auto& a : nm.active) {
    if (a.id == config_.lte_connection || a.uuid == config_.lte_connection) return &a;
  }
  return nullptr;
}

void UplinkMonitor::tick() {
  // The thread boundary of every uplink failure: whatever a D-Bus call or a peer's answer
  // throws ends up in the snapshot, never out of the monitor.
  try {
    if (owns_bus_) maintain_bus();
    if (!nm_) {
      record_down(bus_error_);
      return;
    }
    tick_connected();
  } catch (const std::exception& e) {
    record_down(std::string("uplink tick failed: ") + e.what());
  }
}

// Without a bus nothing can be known or done: no policy step (the switch timers must not
// run on a picture that is not there), and the last mode and counters stay as they were.
void UplinkMonitor::record_down(const std::string& error) {
  std::lock_guard lock(mutex_);
  ++snap_.ticks;
  snap_.bus_connected = false;
  snap_.bus_error = error;
  snap_.network_manager_present = false;
  snap_.wired_ok = false;
  snap_.lte_active = false;
  snap_.modems = MmSnapshot{};
  snap_.pending_switch_in.reset();
  snap_.health = Health::degraded;
  snap_.last_error = error;
}

void UplinkMonitor::tick_connected() {
  std::string error;
  if (mm_->needs_resync()) {
    if (auto r = mm_->resync(); !r) error = r.error().message;
  }
  auto nm = nm_->read();
  UplinkInput in;
  bool nm_present = nm.ok();
  if (nm) {
    in.wired_ok = wired_ok(*nm);
    const NmActiveConnection* lte = lte_connection(*nm);
    in.lte_active = lte != nullptr && lte->state == nm::kActiveStateActivated;
    lte_active_path_ = lte != nullptr ? lte->path : std::string();
  } else {
    error = nm.error().message;
  }

  UplinkAction action = UplinkAction::none;
  // Without NetworkManager there is nothing to decide on nor to act with.
  if (nm_present && config_.enabled) action = policy_.step(in);
  if (action == UplinkAction::activate_lte) {
    auto r = nm_->activate(config_.lte_connection);
    policy_.record(action, r.ok(), r ? std::string() : r.error().message);
    if (r) lte_active_path_ = *r;
  } else if (action == UplinkAction::deactivate_lte) {
    if (lte_active_path_.empty()) {
      policy_.record(action, true);  // already gone
    } else {
      auto r = nm_->deactivate(lte_active_path_);
      policy_.record(action, r.ok(), r ? std::string() : r.error().message);
    }
  }

  std::lock_guard lock(mutex_);
  ++snap_.ticks;
  snap_.bus_connected = true;
  snap_.bus_error.clear();
  snap_.network_manager_present = nm_present;
  if (nm) {
    snap_.connectivity = nm->connectivity;
    snap_.primary_connection_type = nm->primary_connection_type;
  }
  snap_.wired_ok = in.wired_ok;
  snap_.lte_active = in.lte_active;
  snap_.mode = policy_.mode();
  snap_.pending_switch_in = policy_.pending_switch_in();
  snap_.modems = mm_->snapshot();
  snap_.counters = policy_.counters();
  snap_.health = (in.wired_ok || in.lte_active) ? Health::healthy : Health::degraded;
  snap_.last_error = error;
}

// The poll period, or sooner when a reconnect attempt falls due before it.
std::chrono::milliseconds UplinkMonitor::next_wait() {
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(config_.poll_interval);
  if (owns_bus_ && !session_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(backoff_.remaining(clock_.now()));
    wait = std::clamp(left, std::chrono::milliseconds(1), wait);
  }
  return wait;
}

void UplinkMonitor::schedule_on(PeriodicWorker& worker) {
  job_ = worker.add("uplink", [this] {
    tick();
    return std::chrono::duration_cast<Clock::Duration>(next_wait());
  });
  worker_ = &worker;
}

// From the bus thread (signals, the connection lost) or any other.
void UplinkMonitor::wake() {
  if (PeriodicWorker* w = worker_.load()) w->wake(job_);
}

UplinkSnapshot UplinkMonitor::snapshot() const {
  std::lock_guard lock(mutex_);
  return snap_;
}

}  // namespace pisigner::hal
