#include "cluster_wiring.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>


namespace pisigner::daemon {

namespace {

constexpr auto kMemberRefresh = std::chrono::seconds(2);

}  // namespace

Result<std::unique_ptr<ClusterRuntime>, Error> ClusterRuntime::create(const config::Config& cfg, Clock& clock) {
  if (!cfg.cluster.enabled) return std::unique_ptr<ClusterRuntime>();
  auto options = cluster_client_options(cfg);
  if (!options) return fail(options.error());
  auto client = hwm::etcd::Client::create(std::move(*options));
  if (!client) return fail(Error{cfg.source + ": [cluster]: " + client.error()});
  return std::unique_ptr<ClusterRuntime>(new ClusterRuntime(cfg, clock, std::move(*client)));
}

ClusterRuntime::ClusterRuntime(const config::Config& cfg, Clock& clock, std::unique_ptr<hwm::etcd::Client> client)
    : clock_(clock), node_(cfg.cluster.node), fresh_(cfg.health.interval), client_(std::move(client)), worker_(clock) {
  hwm::etcd::ClusterOptions o;
  o.node = cfg.cluster.node;
  o.budget = cfg.cluster.budget;
  o.workers = static_cast<std::size_t>(std::max(cfg.server.sign_threads, 2));
  local_keys_ = std::make_shared<const std::vector<tezos::PublicKeyHash>>();
  o.local_when_unavailable = [this](const tezos::PublicKeyHash& pkh) {
    return std::find(local_keys_->begin(), local_keys_->end(), pkh) != local_keys_->end();
  };
  watermark_ = std::make_unique<hwm::etcd::ClusterWatermark>(*client_, std::move(o), clock);
  members_.resize(client_->members());
  worker_.add("cluster members", [this] { return refresh_members(); });
}

ClusterRuntime::~ClusterRuntime() { stop(); }

void ClusterRuntime::set_local_keys(std::vector<tezos::PublicKeyHash> pkhs) {
  local_keys_ = std::make_shared<const std::vector<tezos::PublicKeyHash>>(std::move(pkhs));
}

void ClusterRuntime::start() { worker_.start(); }

void ClusterRuntime::stop() { worker_.stop(); }

Clock::Duration ClusterRuntime::refresh_members() {
  std::vector<hwm::etcd::MemberStatus> fresh;
  for (std::size_t i = 0; i < client_->members(); ++i) fresh.push_back(client_->status(i));
  std::lock_guard lock(mu_);
  members_ = std::move(fresh);
  return kMemberRefresh;
}

void ClusterRuntime::add_health_checks(health::Health& health) {
  health.add("cluster_writable", true, [this] {
    sync_counters();
    // A signature's CAS within the interval already proved it; otherwise the node's probe key is
    // written (tried again within the cluster budget, on the members that answer).
    auto r = watermark_->probe(fresh_);
    std::lock_guard lock(mu_);
    if (!r) {
      last_probe_error_ = r.error().message;
      return health::ProbeResult{health::State::Failing, "etcd cluster takes no write: " + r.error().message};
    }
    last_probe_error_.clear();
    return health::ProbeResult{health::State::Ok, "etcd quorum write ok"};
  });
}

void ClusterRuntime::declare_metrics(metrics::Registry& m) {
  metrics_ = &m;
  m.declare_histogram("pisigner_cluster_cas_duration_seconds", "etcd compare-and-set round trips.",
                      metrics::latency_buckets());
  m.declare_counter("pisigner_cluster_writes_total", "Watermark records raised in etcd.");
  m.declare_counter("pisigner_cluster_txns_total",
                    "etcd txns sent for watermarks; keys that wait together share one (writes / txns = keys per txn).");
  m.declare_counter("pisigner_cluster_batch_retries_total",
                    "CAS sent again because another key of its txn lost a race (nothing of that txn landed).");
  m.declare_counter("pisigner_cluster_lost_races_total", "CAS lost to another signer's write (its record adopted).");
  m.declare_counter("pisigner_cluster_unknown_outcomes_total", "CAS whose outcome had to be re-read (landed: found ours).");
  m.declare_counter("pisigner_cluster_refusals_total", "Signatures the cluster step refused, by cause.");
  m.declare_counter("pisigner_cluster_failovers_total", "etcd calls that moved on to another member.");
  m.declare_counter("pisigner_cluster_reauthentications_total", "etcd tokens obtained (at start, and after a member lost them).");
  m.declare_counter("pisigner_cluster_degraded_total",
                    "Signatures released on the local watermark alone (on_cluster_unavailable = \"local\").");
  watermark_->on_cas_latency([&m](double s) { m.observe("pisigner_cluster_cas_duration_seconds", s); });
  auto gauge = [this](auto field) {
    return [this, field] {
      std::vector<std::pair<metrics::Labels, double>> out;
      std::lock_guard lock(mu_);
      for (const auto& s : members_) out.push_back({{{"member", s.endpoint}}, field(s)});
      return out;
    };
  };
  m.declare_gauge("pisigner_cluster_member_up", "1 when the etcd member answered its last status call.",
                  gauge([](const hwm::etcd::MemberStatus& s) { return s.reachable ? 1.0 : 0.0; }));
  m.declare_gauge("pisigner_cluster_member_leader", "1 for the member that leads the raft group.",
                  gauge([](const hwm::etcd::MemberStatus& s) { return s.leader ? 1.0 : 0.0; }));
  m.declare_gauge("pisigner_cluster_member_raft_term", "The raft term each member reports.",
                  gauge([](const hwm::etcd::MemberStatus& s) { return double(s.raft_term); }));
}

// Counters in the registry only move by inc(); the protocol keeps totals, so each health probe
// adds what is new (at most one health interval late).
void ClusterRuntime::sync_counters() {
  if (!metrics_) return;
  const auto& st = watermark_->stats();
  std::lock_guard lock(mu_);
  auto add = [&](const char* name, const metrics::Labels& labels, std::uint64_t now, std::uint64_t& seen) {
    if (now > seen) metrics_->inc(name, labels, double(now - seen));
    seen = now;
  };
  add("pisigner_cluster_writes_total", {}, st.writes.load(), seen_.writes);
  add("pisigner_cluster_txns_total", {}, st.txns.load(), seen_.txns);
  add("pisigner_cluster_batch_retries_total", {}, st.batch_retries.load(), seen_.batch_retries);
  add("pisigner_cluster_lost_races_total", {}, st.lost_races.load(), seen_.lost);
  add("pisigner_cluster_unknown_outcomes_total", {{"resolved", "all"}}, st.unknown_outcomes.load(), seen_.unknown);
  add("pisigner_cluster_unknown_outcomes_total", {{"resolved", "landed"}}, st.unknown_landed.load(), seen_.landed);
  add("pisigner_cluster_refusals_total", {{"cause", "watermark"}}, st.refused_watermark.load(), seen_.watermark);
  add("pisigner_cluster_refusals_total", {{"cause", "unavailable"}}, st.refused_unavailable.load(), seen_.unavailable);
  add("pisigner_cluster_refusals_total", {{"cause", "nospace"}}, st.refused_nospace.load(), seen_.nospace);
  add("pisigner_cluster_degraded_total", {}, st.degraded.load(), seen_.degraded);
  const auto cs = client_->stats();
  add("pisigner_cluster_failovers_total", {}, cs.failovers, seen_.failovers);
  add("pisigner_cluster_reauthentications_total", {}, cs.reauthentications, seen_.reauths);
}

std::string ClusterRuntime::status_json() const {
  nlohmann::json members = nlohmann::json::array();
  std::lock_guard lock(mu_);
  for (const auto& s : members_) {
    nlohmann::json m{{"endpoint", s.endpoint}, {"reachable", s.reachable}, {"leader", s.leader},
                     {"raft_term", s.raft_term}};
    if (!s.alarms.empty()) m["alarms"] = s.alarms;
    if (!s.error.empty()) m["error"] = s.error;
    members.push_back(std::move(m));
  }
  const auto& st = watermark_->stats();
  nlohmann::json stats{{"writes", st.writes.load()},
                       {"txns", st.txns.load()},
                       {"batch_retries", st.batch_retries.load()},
                       {"lost_races", st.lost_races.load()},
                       {"unknown_outcomes", st.unknown_outcomes.load()},
                       {"refused_watermark", st.refused_watermark.load()},
                       {"refused_unavailable", st.refused_unavailable.load()},
                       {"refused_nospace", st.refused_nospace.load()},
                       {"degraded", st.degraded.load()},
                       {"failovers", client_->stats().failovers},
                       {"reauthentications", client_->stats().reauthentications}};
  nlohmann::json c{{"node", node_}, {"members", members}, {"stats", stats}};
  if (!last_probe_error_.empty()) c["last_error"] = last_probe_error_;
  return nlohmann::json{{"cluster", c}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace pisigner::daemon
