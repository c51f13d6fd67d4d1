// Group commit of compare-and-sets to etcd: CAS of several keys that wait at the same time share one
// txn, so one raft round (and one gateway request) serves many signatures.
//
// Leader/follower, the SQLite store's group commit (group_commit.hpp): one txn is in flight at a
// time. A CAS that finds none in flight is sent at once on its caller's thread; CAS arriving
// meanwhile queue, and the next leader sends everything queued (up to the caps) as one txn.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "../group_commit.hpp"
#include "pisigner/hwm/etcd/kv.hpp"

namespace pisigner::hwm::etcd {

struct BatchLimits {
  // CAS per txn. etcd refuses a txn of more than --max-txn-ops operations (default 128); a batch
  // of n CAS has n of each kind. Stay well below: values above 64 are taken as 64.
  std::size_t max_ops = 32;
  // Key and value bytes per txn: bounds the request and the failure branch's reply, which carries
  // every key's record back (the client's reply limit is 64 KiB). A single CAS is always sent.
  std::size_t max_bytes = 16 * 1024;
};

// Thread-safe. `kv` and `txns` outlive it.
class TxnBatcher {
 public:
  TxnBatcher(Kv& kv, BatchLimits limits, std::atomic<std::uint64_t>& txns);

  // The outcome of `op` as if it had been sent alone:
  // - succeeded: our put landed, at header.revision;
  // - a failed compare: nothing of the txn landed and `current` is our key as etcd holds it. In a
  //   batch the compare that failed may be another key's: then `current` still has the
  //   mod_revision we compared (the caller tells the two apart by that);
  // - an error: the txn's (Unknown: it may have landed, for all of its keys or for none).
  // A CAS of a key already in the txn being formed is not sent twice (etcd refuses a txn that
  // writes a key twice): it is answered as if sent right after that txn, i.e. a failed compare
  // against the key's record after it (or NotApplied if that txn failed).
  Result<TxnReply, KvError> cas(CasOp op);

  std::size_t waiting() const;  // CAS queued behind the txn in flight

 private:
  struct Pending;
  using Group = detail::GroupCommit<Pending>;
  using Batch = Group::Batch;
  // The leader, `lock` held on entry and exit: takes the next txn's CAS from `queue`, sends them.
  Batch lead(std::unique_lock<std::mutex>& lock, Group::Queue& queue);
  // Sends `batch` (distinct keys) as one txn; sets every result. No lock held.
  void send(const Batch& batch);
  // Answers each CAS that rode along with a CAS of the same key in `sent`.
  static void answer_shadowed(const Batch& sent, const Batch& shadowed);

  Kv& kv_;
  const BatchLimits limits_;
  std::atomic<std::uint64_t>& txns_;

  mutable std::mutex mu_;
  Group group_;  // guarded by mu_: CAS waiting for the next txn
};

}  // namespace pisigner::hwm::etcd
