#include "ledger_keys.hpp"

#include <spdlog/spdlog.h>

#include "pisigner/crypto/hd.hpp"
#include "pisigner/ledger/hid_device.hpp"
#include "pisigner/ledger/hid_transport.hpp"
#include "pisigner/ledger/tcp_transport.hpp"

namespace pisigner::daemon {

namespace {

ledger::TransportFactory factory_for(const std::string& spec, Clock& clock) {
  if (spec.rfind("tcp://", 0) == 0) {
    return [spec, &clock]() -> Result<std::unique_ptr<ledger::Transport>, ledger::TransportError> {
      auto t = ledger::TcpTransport::connect(spec, std::chrono::milliseconds(1000), clock);
      if (!t) return fail(t.error());
      return std::unique_ptr<ledger::Transport>(std::move(t).value());
    };
  }
  // "hid": the first Ledger found; anything else: the Ledger with that USB serial number.
  return [spec]() -> Result<std::unique_ptr<ledger::Transport>, ledger::TransportError> {
    std::string path;
    if (spec != "hid") {
      for (const auto& d : ledger::enumerate_ledgers()) {
        if (d.serial == spec) path = d.path;
      }
      if (path.empty()) return fail(ledger::TransportError{ledger::TransportErrc::Disconnected, "no Ledger with serial " + spec});
    }
    return ledger::open_hid_transport(path);
  };
}

}  // namespace

health::ProbeResult judge(const ledger::DeviceState& st, const keys::LedgerKey& key) {
  using health::State;
  if (!st.present) return {State::Failing, "no Ledger: " + (st.last_error.empty() ? "not connected" : st.last_error)};
  if (!st.responsive) return {State::Failing, "Ledger not answering: " + st.last_error};
  if (!st.unlocked) return {State::Failing, "Ledger is locked: unlock it with the PIN"};
  if (!st.app_open) return {State::Failing, "Tezos Baking app is not open on the Ledger"};
  if (!st.identity_ok) return {State::Failing, st.last_error.empty() ? "wrong Ledger" : st.last_error};
  if (!st.authorized_ok) {
    return {State::Failing, "the baking key is not authorized on the device (run: pisignerctl ledger authorize " +
                                key.pkh().to_b58() + ")"};
  }
  return {State::Ok, "Tezos Baking " + (st.app_version ? st.app_version->to_string() : std::string("?")) + " on " +
                         st.transport + ", key " + key.pkh().to_b58() + " authorized"};
}

LedgerRuntime::LedgerRuntime(Clock& clock, health::Health& health, metrics::Registry& metrics)
    : clock_(clock), health_(health), metrics_(metrics) {
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

Result<std::unique_ptr<keys::LedgerKey>, Error> LedgerRuntime::add_key(const config::Config& /*cfg*/,
                                                                       const config::KeyConfig& k) {
  // The config parsed and cross-checked path, curve and pkh (the pkh's curve is the key's curve).
  const auto curve = k.curve == crypto::Curve::Secp256k1 ? ledger::DerivationType::Secp256k1
                     : k.curve == crypto::Curve::P256    ? ledger::DerivationType::P256
                                                         : ledger::DerivationType::Ed25519;
  const auto* path = &k.path;
  const auto* pkh = &k.pkh;
  Device* dev = nullptr;
  for (auto& d : devices_) {
    if (d->spec == k.device) dev = d.get();
  }
  if (!dev) {
    ledger::DeviceWorkerConfig wc;
    wc.curve = curve;
    wc.path = *path;
    wc.identity_check = keys::LedgerKey::identity_rule(curve, *path, *pkh);
    wc.timeouts.apdu = k.timeout;
    auto d = std::make_unique<Device>();
    d->spec = k.device;
    d->worker = std::make_shared<ledger::DeviceWorker>(wc, factory_for(k.device, clock_), clock_);
    dev = d.get();
    devices_.push_back(std::move(d));
  }
  auto key = std::make_unique<keys::LedgerKey>(dev->worker, curve, *path, *pkh, k.timeout);
  dev->keys.push_back(key.get());

  const std::string check = "ledger " + pkh->to_b58();
  auto* key_ptr = key.get();
  auto worker = dev->worker;
  const auto probe_timeout = std::min(k.timeout, std::chrono::milliseconds(2000));
  health_.add(check, true, [worker, key_ptr, probe_timeout] {
    (void)worker->refresh(probe_timeout);  // the outcome lands in state()
    return judge(worker->state(), *key_ptr);
  });
  health_.skip_when_busy(check);
  // A signature, or a failure to reach the device, updates health at once instead of at the next probe.
  auto report_now = [this, check, worker, key_ptr] { health_.report(check, judge(worker->state(), *key_ptr)); };
  key->on_success(report_now);
  key->on_unavailable(report_now);
  key->on_refused([this, spec = dev->spec] { metrics_.inc("pisigner_ledger_refusals_total", {{"device", spec}}); });
  return key;
}

LedgerRuntime::Device* LedgerRuntime::find_device(const std::string& pkh) {
  for (auto& d : devices_) {
    for (auto* k : d->keys) {
      if (k->pkh().to_b58() == pkh) return d.get();
    }
  }
  return nullptr;
}

void LedgerRuntime::attach_store(hwm::Store& store) {
  for (auto& d : devices_) {
    for (auto* key : d->keys) {
      const std::string check = "ledger_hwm " + key->pkh().to_b58();
      auto worker = d->worker;
      const auto pkh = key->pkh();
      // The device is asked at most every 30 s: every query holds it away from signing.
      auto last = std::make_shared<std::pair<Clock::TimePoint, health::ProbeResult>>();
      health_.add(check, false, [this, worker, pkh, &store, last]() -> health::ProbeResult {
        const auto now = clock_.now();
        if (last->first != Clock::TimePoint{} && now - last->first < std::chrono::seconds(30)) return last->second;
        auto result = compare_hwm(*worker, pkh, store);
        // Only a settled answer is reused; a warning or "no watermark yet" is asked again next probe.
        const bool settled = result.state == health::State::Ok && result.detail.find("no watermark") == std::string::npos;
        *last = {settled ? now : Clock::TimePoint{}, result};
        return result;
      });
      health_.skip_when_busy(check);
    }
  }
}

health::ProbeResult LedgerRuntime::compare_hwm(ledger::DeviceWorker& worker, const tezos::PublicKeyHash& pkh,
                                               hwm::Store& store) {
  auto hwm = worker.run_probe([](ledger::BakingApp& app) { return app.query_all_hwm(); }, std::chrono::seconds(2));
  if (!hwm) return {health::State::Warning, "device watermark unknown: " + hwm.error().message};
  auto records = store.list();
  if (!records) return {health::State::Warning, "store unreadable: " + records.error().message};
  std::int64_t store_level = -1;
  for (const auto& [k, r] : *records) {
    const bool same_chain = hwm->main_chain_id == 0 || read_be32(k.chain.bytes, 0) == hwm->main_chain_id;
    if (k.pkh == pkh && same_chain) store_level = std::max<std::int64_t>(store_level, r.level);
  }
  const std::string dev = "device main level " + std::to_string(hwm->main_level);
  if (store_level < 0) return {health::State::Ok, dev + "; the store has no watermark for this key yet"};
  if (hwm->main_level > store_level + 1) {
    return {health::State::Warning, dev + " is above the store's " + std::to_string(store_level) +
                                        ": the device will refuse levels up to it (chain move or reset? see "
                                        "pisignerctl ledger reset-hwm)"};
  }
  return {health::State::Ok, dev + ", store " + std::to_string(store_level)};
}

void LedgerRuntime::start() {
  bool any_hid = false;
  for (const auto& d : devices_) any_hid = any_hid || d->spec.rfind("tcp://", 0) != 0;
  if (!any_hid) return;
  hotplug_ = ledger::start_hotplug([this](ledger::HotplugEvent e) {
    for (auto& d : devices_) {
      if (d->spec.rfind("tcp://", 0) != 0) d->worker->on_hotplug(e);
    }
  });
}

void LedgerRuntime::stop() { hotplug_.reset(); }

}  // namespace pisigner::daemon
