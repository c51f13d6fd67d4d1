#include "pisigner/hal/uplink_monitor.hpp"

#include <sdbus-c++/sdbus-c++.h>

namespace pisigner::hal {

UplinkMonitor::UplinkMonitor(UplinkConfig config, sdbus::IConnection& bus, Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      nm_(bus, config_.call_timeout),
      mm_(bus, config_.call_timeout),
      policy_(config_, clock_, events_) {
  nm_.set_on_change([this] { wake(); });
  mm_.set_on_change([this] { wake(); });
}

UplinkMonitor::~UplinkMonitor() {
  stop();
  nm_.set_on_change({});
  mm_.set_on_change({});
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
  std::string error;
  if (mm_.needs_resync()) {
    if (auto r = mm_.resync(); !r) error = r.error().message;
  }
  auto nm = nm_.read();
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
    auto r = nm_.activate(config_.lte_connection);
    policy_.record(action, r.ok(), r ? std::string() : r.error().message);
    if (r) lte_active_path_ = *r;
  } else if (action == UplinkAction::deactivate_lte) {
    if (lte_active_path_.empty()) {
      policy_.record(action, true);  // already gone
    } else {
      auto r = nm_.deactivate(lte_active_path_);
      policy_.record(action, r.ok(), r ? std::string() : r.error().message);
    }
  }

  std::lock_guard lock(mutex_);
  ++snap_.ticks;
  snap_.network_manager_present = nm_present;
  if (nm) {
    snap_.connectivity = nm->connectivity;
    snap_.primary_connection_type = nm->primary_connection_type;
  }
  snap_.wired_ok = in.wired_ok;
  snap_.lte_active = in.lte_active;
  snap_.mode = policy_.mode();
  snap_.pending_switch_in = policy_.pending_switch_in();
  snap_.modems = mm_.snapshot();
  snap_.counters = policy_.counters();
  snap_.health = (in.wired_ok || in.lte_active) ? Health::healthy : Health::degraded;
  snap_.last_error = error;
}

void UplinkMonitor::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(wake_mutex_);
    stop_ = false;
  }
  thread_ = std::thread([this] {
    std::unique_lock lock(wake_mutex_);
    while (!stop_) {
      lock.unlock();
      tick();
      lock.lock();
      wake_cv_.wait_for(lock, config_.poll_interval, [this] { return stop_ || wake_; });
      wake_ = false;
    }
  });
}

void UplinkMonitor::stop() {
  {
    std::lock_guard lock(wake_mutex_);
    stop_ = true;
  }
  wake_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void UplinkMonitor::wake() {
  {
    std::lock_guard lock(wake_mutex_);
    wake_ = true;
  }
  wake_cv_.notify_all();
}

UplinkSnapshot UplinkMonitor::snapshot() const {
  std::lock_guard lock(mutex_);
  return snap_;
}

}  // namespace pisigner::hal
