// The shared watermark on etcd (reference/etcd-hwm.md §4): a cached (mod_revision, record) per key,
// octez's rule on the cluster's record, a compare-and-set on the mod_revision behind the decision,
// and an unknown outcome resolved by re-reading, never by releasing. Keys whose CAS wait at the same
// time share one txn (group commit, txn_batcher.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pisigner/clock.hpp"
#include "pisigner/hwm/etcd/kv.hpp"
#include "pisigner/hwm/shared.hpp"

namespace pisigner::hwm::etcd {

struct ClusterOptions {
  std::string node;  // this Pi's name, written into each record
  // Time one advance may take (reads, CAS rounds, re-reads of unknown outcomes) before it is
  // refused. Keep it well under a round.
  std::chrono::milliseconds budget{3000};
  int max_rounds = 8;  // CAS attempts lost to other writers before giving up
  std::chrono::milliseconds retry_backoff{50};  // between re-reads of an unknown outcome
  std::size_t workers = 8;  // advances in flight at once (one per key at most)
  // Keys whose on_cluster_unavailable is "local": released on the local watermark alone when the
  // cluster cannot answer (single Pi, testnets). nullptr: none.
  std::function<bool(const tezos::PublicKeyHash&)> local_when_unavailable;
  // Group commit: at most this many keys' CAS (1..64) and key + value bytes in one txn.
  std::size_t max_batch_ops = 32;
  std::size_t max_batch_bytes = 16 * 1024;
};

struct ClusterStats {
  std::atomic<std::uint64_t> writes{0};            // CAS that raised a record
  std::atomic<std::uint64_t> txns{0};              // etcd txns sent for CAS (a batch of keys is one)
  std::atomic<std::uint64_t> lost_races{0};        // CAS whose compare failed (another writer first)
  std::atomic<std::uint64_t> batch_retries{0};     // CAS sent again: another key of its batch lost
  std::atomic<std::uint64_t> unknown_outcomes{0};  // CAS whose outcome had to be re-read
  std::atomic<std::uint64_t> unknown_landed{0};    // ... and the re-read found our record
  std::atomic<std::uint64_t> refused_watermark{0}; // the cluster's record is ahead
  std::atomic<std::uint64_t> refused_unavailable{0};
  std::atomic<std::uint64_t> refused_nospace{0};
  std::atomic<std::uint64_t> degraded{0};          // released on the local watermark alone
};

// Thread-safe. `kv` and `clock` outlive it.
class TxnBatcher;

class ClusterWatermark final : public SharedWatermark {
 public:
  ClusterWatermark(Kv& kv, ClusterOptions options, const Clock& clock);
  ~ClusterWatermark() override;  // waits for advances in flight

  std::future<SharedVerdict> begin_advance(const HwmKey& key, const Request& request) override;
  // The same, on the calling thread.
  SharedVerdict advance(const HwmKey& key, const Request& request);

  // Writes this node's probe key: proves a write reaches a quorum (health). Skipped, and Ok, when a
  // record was written less than `fresh` ago. Tried again within the budget, as a signature would
  // be, so an election (no leader for a moment) does not fail the probe.
  Result<void, KvError> probe(std::chrono::milliseconds fresh);
  const ClusterStats& stats() const { return stats_; }
  // Called with the duration of every CAS round trip (metrics).
  void on_cas_latency(std::function<void(double seconds)> observer) { cas_observer_ = std::move(observer); }
  // CAS queued behind the txn in flight (they will share the next one).
  std::size_t waiting_cas() const;

 private:
  struct Cached {
    std::int64_t mod_revision = 0;  // 0: the key did not exist
    std::optional<Record> record;
  };
  SharedVerdict run(const HwmKey& key, const Request& request);
  SharedVerdict unavailable(const HwmKey& key, std::string why, bool nospace);
  struct ReadError {
    bool corrupt = false;  // the stored record is unreadable: retrying cannot help
    std::string message;
  };
  Result<Cached, ReadError> read(const std::string& name);
  std::optional<Cached> cached(const HwmKey& key);
  void remember(const HwmKey& key, Cached c);
  void forget(const HwmKey& key);
  void work();

  Kv& kv_;
  const ClusterOptions options_;
  const Clock& clock_;
  ClusterStats stats_;
  std::function<void(double)> cas_observer_;
  std::atomic<Clock::Duration::rep> last_write_{0};
  std::unique_ptr<TxnBatcher> batcher_;

  std::mutex cache_mu_;
  std::map<HwmKey, Cached> cache_;  // guarded by cache_mu_

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<std::function<void()>> queue_;  // guarded by queue_mu_
  bool stopping_ = false;                     // guarded by queue_mu_
  std::vector<std::thread> workers_;
};

}  // namespace pisigner::hwm::etcd
