#include "ledger_keys.hpp"

#include <spdlog/spdlog.h>

#include "pisigner/crypto/hd.hpp"
#include "pisigner/devices/hwm_check.hpp"
#include "pisigner/devices/verdict.hpp"
#include "pisigner/ledger/device_spec.hpp"

namespace pisigner::daemon {

namespace {

// The device's watermark is asked at most this often once settled: every query holds it away from signing.
constexpr auto kDeviceHwmPeriod = std::chrono::seconds(30);

devices::KeyIdentity identity(const keys::LedgerKey& key) { return {key.pkh(), key.curve(), key.path()}; }

// The device's watermark beside the store's; asking the device yields to signatures.
devices::HwmComparison device_hwm_check(ledger::DeviceWorker& worker, const tezos::PublicKeyHash& pkh, hwm::Store& store) {
  auto hwm = worker.run_probe([](ledger::BakingApp& app) { return app.query_all_hwm(); }, std::chrono::seconds(2));
  if (!hwm) {
    return {{health::State::Warning, "device watermark unknown: " + hwm.error().message}, false, devices::HwmRelation::Unknown, std::nullopt};
  }
  auto records = store.list();
  if (!records) {
    return {{health::State::Warning, "store unreadable: " + records.error().message}, false, devices::HwmRelation::Unknown, std::nullopt};
  }
  return devices::compare_hwm(*hwm, pkh, *records);
}

}  // namespace

LedgerRuntime::LedgerRuntime(Clock& clock, health::Health& health, metrics::Registry& metrics)
    : clock_(clock), health_(health), metrics_(metrics), timers_(std::make_shared<PeriodicWorker>(clock)) {
  timers_->start();
  // Each gauge reads one number from every device's snapshot (never the device itself).
  auto per_device = [this](double (*value)(const ledger::DeviceState&)) {
    return [this, value] {
      std::vector<std::pair<metrics::Labels, double>> out;
      for (const auto& d : devices_) out.push_back({{{"device", d->spec}}, value(d->worker->state())});
      return out;
    };
  };
  metrics_.declare_gauge("pisigner_ledger_up", "1 when the Ledger is connected, unlocked, in the baking app and verified.",
                         per_device([](const ledger::DeviceState& st) { return st.healthy() ? 1.0 : 0.0; }));
  metrics_.declare_gauge("pisigner_ledger_reconnects", "Successful Ledger reconnections since start.",
                         per_device([](const ledger::DeviceState& st) { return static_cast<double>(st.reconnects); }));
  metrics_.declare_gauge("pisigner_ledger_apdu_seconds_avg", "Mean APDU round trip.",
                         per_device([](const ledger::DeviceState& st) {
                           const auto& l = st.apdu_latency;
                           return l.count ? std::chrono::duration<double>(l.total).count() / static_cast<double>(l.count) : 0.0;
                         }));
  metrics_.declare_gauge("pisigner_ledger_apdu_seconds_max", "Slowest APDU round trip.",
                         per_device([](const ledger::DeviceState& st) {
                           return std::chrono::duration<double>(st.apdu_latency.max).count();
                         }));
  metrics_.declare_counter("pisigner_ledger_refusals_total", "Signatures the device refused.");
}

LedgerRuntime::~LedgerRuntime() { stop(); }

Result<std::unique_ptr<keys::LedgerKey>, Error> LedgerRuntime::add_key(const config::Config& cfg,
                                                                       const config::KeyConfig& k) {
  // One worker, one key: a second key on the same device would have its signatures thrown away. The
  // config refuses it already; this is the clear refusal should a caller skip that check.
  for (const auto& d : devices_) {
    if (d->spec == k.device) {
      return fail(Error{cfg.source + ":" + std::to_string(k.line) + ": [[key]] device \"" + k.device +
                        "\" already holds the key " +
                        (d->keys.empty() ? std::string("of another [[key]]") : d->keys.front()->pkh().to_b58()) +
                        ": one key per device"});
    }
  }
  // The config parsed and cross-checked path, curve and pkh (the pkh's curve is the key's curve).
  const auto curve = k.curve == crypto::Curve::Secp256k1 ? ledger::DerivationType::Secp256k1
                     : k.curve == crypto::Curve::P256    ? ledger::DerivationType::P256
                                                         : ledger::DerivationType::Ed25519;
  const auto* path = &k.path;
  const auto* pkh = &k.pkh;
  ledger::DeviceWorkerConfig wc;
  wc.curve = curve;
  wc.path = *path;
  wc.identity_check = keys::LedgerKey::identity_rule(curve, *path, *pkh);
  wc.timeouts.apdu = k.timeout;
  auto d = std::make_unique<devices::LedgerDevice>();
  d->spec = k.device;
  d->worker = std::make_shared<ledger::DeviceWorker>(wc, ledger::transport_factory(k.device, clock_), clock_, timers_);
  devices::LedgerDevice* dev = d.get();
  devices_.push_back(std::move(d));
  auto key = std::make_unique<keys::LedgerKey>(dev->worker, curve, *path, *pkh, k.timeout,
                                               keys::is_hardware_device(k.device));
  dev->keys.push_back(key.get());

  const std::string check = "ledger " + pkh->to_b58();
  auto worker = dev->worker;
  const auto id = identity(*key);
  const auto probe_timeout = std::min(k.timeout, std::chrono::milliseconds(2000));
  health_.add(check, true, [worker, id, probe_timeout] {
    (void)worker->refresh(probe_timeout);  // the outcome lands in state()
    return devices::judge(worker->state(), id);
  });
  health_.skip_when_busy(check);
  // A signature, or a failure to reach the device, updates health at once instead of at the next probe.
  auto report_now = [this, check, worker, id] { health_.report(check, devices::judge(worker->state(), id)); };
  key->on_success(report_now);
  key->on_unavailable(report_now);
  key->on_refused([this, spec = dev->spec] { metrics_.inc("pisigner_ledger_refusals_total", {{"device", spec}}); });
  return key;
}

void LedgerRuntime::attach_store(hwm::Store& store) {
  for (auto& d : devices_) {
    for (auto* key : d->keys) {
      const std::string check = "ledger_hwm " + key->pkh().to_b58();
      auto worker = d->worker;
      const auto pkh = key->pkh();
      auto throttled = std::make_shared<devices::ThrottledHwmCheck>(
          clock_, kDeviceHwmPeriod, [worker, pkh, &store] { return device_hwm_check(*worker, pkh, store); });
      health_.add(check, false, [throttled] { return (*throttled)(); });
      health_.skip_when_busy(check);
      hwm_checks_.push_back({pkh.to_b58(), throttled});
    }
  }
  // The health gauge is 1 for ok and warning alike; these say which way the device and store differ.
  metrics_.declare_gauge("pisigner_ledger_hwm_state",
                         "How the Ledger's main watermark stands to the store's: 1 for the current state.", [this] {
                           std::vector<std::pair<metrics::Labels, double>> out;
                           for (const auto& [pkh, check] : hwm_checks_) {
                             const auto now = check->latest().relation;
                             for (const auto r : devices::kHwmRelations) {
                               out.push_back({{{"key", pkh}, {"state", std::string(devices::relation_name(r))}},
                                              r == now ? 1.0 : 0.0});
                             }
                           }
                           return out;
                         });
  metrics_.declare_gauge("pisigner_ledger_hwm_level_gap",
                         "The store's level minus the Ledger's main level (positive: the device is behind).", [this] {
                           std::vector<std::pair<metrics::Labels, double>> out;
                           for (const auto& [pkh, check] : hwm_checks_) {
                             if (const auto gap = check->latest().gap) out.push_back({{{"key", pkh}}, static_cast<double>(*gap)});
                           }
                           return out;
                         });
}

void LedgerRuntime::start() {
  bool any_hid = false;
  for (const auto& d : devices_) any_hid = any_hid || !ledger::is_tcp_spec(d->spec);
  if (!any_hid) return;
  hotplug_ = ledger::start_hotplug(
      [this](ledger::HotplugEvent e) {
        for (auto& d : devices_) {
          if (!ledger::is_tcp_spec(d->spec)) d->worker->on_hotplug(e);
        }
      },
      timers_);
}

void LedgerRuntime::stop() {
  hotplug_.reset();
  timers_->stop();
}

}  // namespace pisigner::daemon
