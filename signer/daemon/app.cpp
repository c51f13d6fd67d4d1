#include "app.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <sstream>
#include <thread>

#include "pisigner/core/signer.hpp"
#include "pisigner/core/timed_store.hpp"
#include "pisigner/health/health.hpp"
#include "pisigner/http/admin_router.hpp"
#include "pisigner/http/health_router.hpp"
#include "pisigner/http/router.hpp"
#include "pisigner/http/server.hpp"
#include "pisigner/hwm/closable_store.hpp"
#include "pisigner/hwm/store.hpp"
#include "pisigner/hwm/watermarks.hpp"
#include "pisigner/keys/registry.hpp"
#include "pisigner/keys/soft_key.hpp"
#include "pisigner/ledger/hid_device.hpp"
#include "pisigner/metrics/metrics.hpp"
#include "pisigner/policy/auth.hpp"
#include "pisigner/policy/policy.hpp"
#include "cluster_wiring.hpp"
#include "hal_wiring.hpp"
#include "key_loader.hpp"
#include "ledger_keys.hpp"
#include "version.hpp"

namespace pisigner::daemon {

// Declared in construction order; destroyed in reverse, so the server goes before the signer
// and the store closes last.
struct App::Parts {
  Clock* clock = nullptr;
  config::Config config;
  metrics::Registry metrics;
  std::unique_ptr<hwm::Store> raw_store;
  hwm::ClosableStore* closable_store = nullptr;  // raw_store, closed before a UPS power-off
  std::unique_ptr<core::TimedStore> store;
  std::unique_ptr<ClusterRuntime> cluster;  // null without [cluster]; outlives the watermarks
  std::unique_ptr<hwm::Watermarks> watermarks;
  keys::Registry keys;
  std::unique_ptr<KeyRuntime> key_runtime;  // device workers for ledger keys, if any
  policy::Policy policy{policy::PolicyConfig{}};
  policy::Authenticator auth;
  std::unique_ptr<core::Signer> signer;
  std::unique_ptr<health::Health> health;
  // The health loop's own thread, on purpose not shared with the HAL's or the Ledger timers' worker:
  // a slow job there (a D-Bus call may take 2 s) must never delay the probes /authorized relies on.
  // Stopped (and, declared after `health`, destroyed) before the Health whose job it runs.
  std::unique_ptr<PeriodicWorker> health_timer;
  std::unique_ptr<http::Router> router;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<HalRuntime> hal;  // UPS + uplink monitors; stopped first
  std::unique_ptr<http::AdminRouter> admin_router;
  std::unique_ptr<http::Server> admin_server;  // null when server.admin_listen is empty
  std::unique_ptr<http::HealthRouter> health_router;
  std::unique_ptr<http::Server> health_server;  // null when server.health_listen is empty
};

namespace {

std::string watermarks_json(hwm::Store& store) {
  nlohmann::json list = nlohmann::json::array();
  auto records = store.list();
  if (!records) return nlohmann::json{{"watermarks_error", records.error().message}}.dump();
  for (const auto& [k, r] : *records) {
    nlohmann::json item = {{"kind", tezos::kind_name(k.kind)}, {"chain", k.chain.to_b58()}, {"pkh", k.pkh.to_b58()},
                           {"level", r.level}};
    item["round"] = r.round ? nlohmann::json(*r.round) : nlohmann::json(nullptr);
    item["signed"] = r.signature.has_value();
    list.push_back(std::move(item));
  }
  return nlohmann::json{{"watermarks", list}}.dump();
}

// The listeners' connection figures (http::ServerStats), read at scrape time; a null server (no
// admin listener) is left out. The servers go before the registry is read again (App::stop).
void declare_server_metrics(metrics::Registry& m, std::vector<std::pair<std::string, const http::Server*>> servers) {
  auto per_listener = [servers](double (*value)(const http::ServerStats&)) {
    return [servers, value] {
      std::vector<std::pair<metrics::Labels, double>> out;
      for (const auto& [name, server] : servers) {
        if (server) out.push_back({{{"listener", name}}, value(server->stats())});
      }
      return out;
    };
  };
  m.declare_gauge("pisigner_http_open_connections", "Open HTTP connections.",
                  per_listener([](const http::ServerStats& s) { return static_cast<double>(s.open_connections); }));
  m.declare_gauge("pisigner_http_accept_errors", "Failed accepts since start (each followed by a backoff).",
                  per_listener([](const http::ServerStats& s) { return static_cast<double>(s.accept_errors); }));
  m.declare_gauge("pisigner_http_evicted_connections",
                  "Slow or idle connections closed since start to make room under server.max_connections.",
                  per_listener([](const http::ServerStats& s) { return static_cast<double>(s.evicted); }));
  m.declare_gauge("pisigner_http_room_deferrals",
                  "Times since start a new client at server.max_connections waited because connections were "
                  "already being closed at the rate limit for making room.",
                  per_listener([](const http::ServerStats& s) { return static_cast<double>(s.room_deferrals); }));
  m.declare_gauge("pisigner_http_handler_errors", "Exceptions caught from request handlers since start.",
                  per_listener([](const http::ServerStats& s) { return static_cast<double>(s.handler_errors); }));
}

}  // namespace

Result<std::unique_ptr<App>, Error> App::create(const config::Config& cfg, Clock& clock) {
  auto p = std::make_unique<Parts>();
  p->clock = &clock;
  p->config = cfg;

  hwm::SqliteOptions store_options;
  store_options.create = false;  // only `pisignerctl hwm init` creates a store; a missing one is refused
  auto store = hwm::open_sqlite_store(cfg.store.path, store_options);
  if (!store) return fail(Error{"high-watermark store: " + store.error().message});
  auto closable = std::make_unique<hwm::ClosableStore>(std::move(store).value());
  p->closable_store = closable.get();
  p->raw_store = std::move(closable);
  p->store = std::make_unique<core::TimedStore>(*p->raw_store, p->metrics, clock);

  policy::PolicyConfig pc;
  pc.magic_bytes = cfg.policy.magic_bytes;
  pc.chains.insert(cfg.policy.chains.begin(), cfg.policy.chains.end());
  p->policy = policy::Policy(pc);

  auto auth = policy::Authenticator::from_keys(cfg.auth.required, cfg.auth.authorized_keys);
  if (!auth) return fail(Error{cfg.source + ": auth: " + auth.error().message});
  p->auth = std::move(auth).value();

  p->health = std::make_unique<health::Health>(clock, cfg.health.interval, cfg.health.max_age);
  p->health_timer = std::make_unique<PeriodicWorker>(clock);
  auto loaded = load_keys(cfg, clock, *p->health, p->metrics);
  if (!loaded) return fail(loaded.error());
  p->keys = std::move(loaded->registry);
  config::wipe_secrets(p->config);  // the keys are built; their text is not needed again
  p->key_runtime = std::move(loaded->runtime);
  if (auto* ledgers = dynamic_cast<LedgerRuntime*>(p->key_runtime.get())) ledgers->attach_store(*p->store);

  auto cluster = ClusterRuntime::create(cfg, clock);
  if (!cluster) return fail(cluster.error());
  p->cluster = std::move(cluster).value();
  if (p->cluster) {
    std::vector<tezos::PublicKeyHash> local;  // registry entries are in config order
    for (std::size_t i = 0; i < cfg.keys.size() && i < p->keys.size(); ++i) {
      if (cfg.keys[i].local_when_cluster_unavailable) local.push_back(p->keys.entries()[i].key->pkh());
    }
    p->cluster->set_local_keys(std::move(local));
    p->cluster->add_health_checks(*p->health);
    p->cluster->declare_metrics(p->metrics);
  }
  p->watermarks = std::make_unique<hwm::Watermarks>(
      *p->store, hwm::WatermarkLimits{{cfg.policy.max_level_jump}, cfg.policy.max_chains_per_key},
      p->cluster ? &p->cluster->shared() : nullptr);

  p->signer = std::make_unique<core::Signer>(p->keys, p->policy, p->auth, *p->watermarks, p->metrics, clock);
  p->health->set_busy([s = p->signer.get()] { return s->in_flight() > 0; });
  // The journal says when and why the Pi stopped (or started again) answering 200 to HAProxy.
  p->health->on_change([](const health::Snapshot& s) {
    if (s.authorized) {
      spdlog::info("health: authorized (/authorized answers 200)");
    } else {
      spdlog::warn("health: not authorized (/authorized answers 503): {}", s.summary);
    }
  });
  p->health->schedule_on(*p->health_timer);  // runs once start() starts the thread

  auto* store_ptr = p->store.get();
  p->health->add("store_writable", true, [store_ptr] {
    auto r = store_ptr->probe_writable();
    if (!r) return health::ProbeResult{health::State::Failing, r.error().message};
    return health::ProbeResult{health::State::Ok, "durable writes succeed"};
  });
  const std::size_t nkeys = p->keys.size();
  p->health->add("keys_loaded", true, [nkeys] {
    return health::ProbeResult{health::State::Ok, std::to_string(nkeys) + " key(s) loaded"};
  });
  auto* signer_ptr = p->signer.get();
  p->health->add("accepting", true, [signer_ptr] {
    if (!signer_ptr->accepting()) return health::ProbeResult{health::State::Failing, "signer is shutting down"};
    return health::ProbeResult{health::State::Ok, "accepting signatures"};
  });

  p->metrics.declare_gauge("pisigner_build_info", "Build information.", [] {
    return std::vector<std::pair<metrics::Labels, double>>{{{{"version", kVersion}}, 1.0}};
  });
  auto* health_ptr = p->health.get();
  p->metrics.declare_gauge("pisigner_health_check", "Health checks: 1 ok/warning, 0 failing.", [health_ptr] {
    std::vector<std::pair<metrics::Labels, double>> out;
    for (const auto& c : health_ptr->snapshot().checks) {
      out.push_back({{{"check", c.name}, {"required", c.required ? "true" : "false"}},
                     c.probed && c.state != health::State::Failing ? 1.0 : 0.0});
    }
    return out;
  });
  p->metrics.declare_gauge("pisigner_authorized", "1 when /authorized answers 200.", [health_ptr] {
    return std::vector<std::pair<metrics::Labels, double>>{{{}, health_ptr->snapshot().authorized ? 1.0 : 0.0}};
  });

  http::RouterOptions ro;
  ro.known_keys = cfg.server.known_keys;
  ro.every_sign_blocks = cfg.cluster.enabled;
  auto hal = HalRuntime::create(cfg, clock);
  if (!hal) return fail(hal.error());
  p->hal = std::move(hal).value();
  p->hal->add_health_checks(*p->health);
  p->hal->declare_metrics(p->metrics);
  ro.status_extra = [store_ptr, hal_ptr = p->hal.get(), cluster_ptr = p->cluster.get()] {
    auto out = merge_json_objects(watermarks_json(*store_ptr), hal_ptr->status_json());
    return cluster_ptr ? merge_json_objects(out, cluster_ptr->status_json()) : out;
  };
  p->router = std::make_unique<http::Router>(*p->signer, *p->health, p->metrics, std::move(ro));

  http::ServerOptions so;
  so.listen = cfg.server.listen;
  so.body_limit = cfg.server.body_limit;
  so.header_timeout = cfg.server.header_timeout;
  so.idle_timeout = cfg.server.idle_timeout;
  so.io_threads = cfg.server.io_threads;
  so.sign_threads = cfg.server.sign_threads;
  so.max_connections = cfg.server.max_connections;
  p->server = std::make_unique<http::Server>(*p->router, so);
  if (!cfg.server.admin_listen.empty()) {
    const auto* ledgers = dynamic_cast<LedgerRuntime*>(p->key_runtime.get());
    p->admin_router = std::make_unique<http::AdminRouter>(ledgers ? &ledgers->devices() : nullptr, ledger::enumerate_ledgers);
    http::ServerOptions ao = so;
    ao.listen = cfg.server.admin_listen;
    ao.io_threads = 1;
    ao.sign_threads = 2;
    ao.max_connections = 8;  // pisignerctl, one command at a time
    p->admin_server = std::make_unique<http::Server>(*p->admin_router, ao);
  }
  if (!cfg.server.health_listen.empty()) {
    p->health_router = std::make_unique<http::HealthRouter>(*p->router);
    http::ServerOptions ho = so;
    ho.listen = cfg.server.health_listen;
    ho.io_threads = 1;  // its own: a check never waits for a thread busy with signatures
    ho.sign_threads = 1;  // unused: nothing here blocks
    ho.max_connections = 16;  // HAProxy holds one per check; a scraper or two
    p->health_server = std::make_unique<http::Server>(*p->health_router, ho);
  }
  declare_server_metrics(p->metrics, {{"signing", p->server.get()}, {"admin", p->admin_server.get()}, {"health", p->health_server.get()}});
  return std::unique_ptr<App>(new App(std::move(p)));
}

App::App(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

App::~App() { stop(); }

Result<void, Error> App::start() {
  parts_->health->probe_once();  // the first snapshot exists before anyone can ask for it
  if (auto r = parts_->server->start(); !r) return r;
  if (parts_->health_server) {
    if (auto r = parts_->health_server->start(); !r) return r;
  }
  if (parts_->admin_server) {
    if (auto r = parts_->admin_server->start(); !r) return r;
  }
  if (parts_->cluster) parts_->cluster->start();
  parts_->health_timer->start();
  parts_->hal->set_before_power_off([this] { prepare_power_off(); });
  parts_->hal->start();
  for (const auto& k : parts_->keys.entries()) {
    spdlog::info("key {} ({}, {}) ready", k.key->pkh().to_b58(), (k.key->public_key() ? k.key->public_key()->to_b58() : "public key not known yet"), k.key->backend());
  }
  return {};
}

std::vector<std::uint16_t> App::ports() const { return parts_->server->ports(); }

std::vector<std::uint16_t> App::admin_ports() const {
  return parts_->admin_server ? parts_->admin_server->ports() : std::vector<std::uint16_t>{};
}

std::vector<std::uint16_t> App::health_ports() const {
  return parts_->health_server ? parts_->health_server->ports() : std::vector<std::uint16_t>{};
}

std::string App::status_line() const { return parts_->health->snapshot().summary; }

void App::every(std::chrono::milliseconds period, std::function<void()> fn) { parts_->server->every(period, std::move(fn)); }

void App::stop() {
  if (!parts_) return;
  parts_->hal->stop();  // no power-off sequence runs while we tear down
  parts_->signer->stop_accepting();
  parts_->server->stop();
  if (parts_->admin_server) parts_->admin_server->stop();
  if (parts_->health_server) parts_->health_server->stop();
  parts_->health_timer->stop();
  if (parts_->cluster) parts_->cluster->stop();
  if (parts_->key_runtime) parts_->key_runtime->stop();
}

void App::prepare_power_off() {
  if (!parts_) return;
  parts_->signer->stop_accepting();
  // A signature in flight finishes (each is bounded by its device timeout); the signer's
  // in-flight count rises before it checks accepting, so 0 here means none can start.
  if (!parts_->signer->wait_idle(std::chrono::seconds(10))) spdlog::error("power-off: a signature is still in flight after 10 s; closing the store");
  parts_->closable_store->close();
  spdlog::warn("power-off: signing stopped and the high-watermark store closed");
}

}  // namespace pisigner::daemon
