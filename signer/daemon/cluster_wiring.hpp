// The shared high watermark as pisignerd runs it ([cluster]): the etcd client and protocol, the
// required health check "cluster_writable", the pisigner_cluster_* metrics and the /status section.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster_options.hpp"
#include "pisigner/clock.hpp"
#include "pisigner/config/config.hpp"
#include "pisigner/periodic_worker.hpp"
#include "pisigner/health/health.hpp"
#include "pisigner/hwm/etcd/client.hpp"
#include "pisigner/hwm/etcd/cluster_watermark.hpp"
#include "pisigner/metrics/metrics.hpp"
#include "pisigner/result.hpp"

namespace pisigner::daemon {

class ClusterRuntime {
 public:
  // Null when [cluster] is absent. `clock` must outlive the runtime.
  static Result<std::unique_ptr<ClusterRuntime>, Error> create(const config::Config& config, Clock& clock);
  ~ClusterRuntime();

  hwm::SharedWatermark& shared() { return *watermark_; }
  // Keys whose on_cluster_unavailable is "local". Before any signature.
  void set_local_keys(std::vector<tezos::PublicKeyHash> pkhs);
  // "cluster_writable" (required): a write reached a quorum within the last health interval.
  void add_health_checks(health::Health& health);
  void declare_metrics(metrics::Registry& metrics);
  // Member views (reachable, leader, raft term) refreshed every 2 s on their own worker, so
  // /status never waits on the network. Idempotent.
  void start();
  void stop();
  // {"cluster": {...}} for GET /status. Thread-safe.
  std::string status_json() const;

 private:
  ClusterRuntime(const config::Config& config, Clock& clock, std::unique_ptr<hwm::etcd::Client> client);
  void sync_counters();
  Clock::Duration refresh_members();

  Clock& clock_;
  const std::string node_;
  const std::chrono::milliseconds fresh_;
  std::unique_ptr<hwm::etcd::Client> client_;
  std::unique_ptr<hwm::etcd::ClusterWatermark> watermark_;
  PeriodicWorker worker_;
  metrics::Registry* metrics_ = nullptr;
  std::shared_ptr<const std::vector<tezos::PublicKeyHash>> local_keys_;  // set before signing starts

  mutable std::mutex mu_;
  std::vector<hwm::etcd::MemberStatus> members_;  // guarded by mu_
  std::string last_probe_error_;                  // guarded by mu_
  struct Seen {
    std::uint64_t writes = 0, lost = 0, unknown = 0, landed = 0, watermark = 0, unavailable = 0, nospace = 0,
                  degraded = 0, failovers = 0, reauths = 0, txns = 0, batch_retries = 0;
  } seen_;  // guarded by mu_
};

}  // namespace pisigner::daemon
