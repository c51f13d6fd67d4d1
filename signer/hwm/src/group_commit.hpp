// Leader/follower group commit, shared by the SQLite store and the etcd txn batcher: one batch in
// flight at a time. A caller that finds none in flight commits at once on its own thread (a writer
// alone waits for no batch to form); callers arriving meanwhile queue, and when the batch is done
// its leader hands the lead to the first of them, which commits what is queued then. Each caller
// sleeps on its own condition variable and is woken once: its batch is done, or it leads the next.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace pisigner::hwm::detail {

// A caller's place in the queue; the owner's entry type derives from it.
struct GroupEntry {
  enum class State { Queued, Lead, Done } state = State::Queued;  // under the owner's mutex
  std::condition_variable wake;                                    // this caller's alone
};

// Has no mutex of its own: the owner's guards the queue, so that other state the owner keeps
// beside it (a cache, signatures waiting to be written) changes under the same lock.
template <class Entry>
class GroupCommit {
 public:
  using Ptr = std::shared_ptr<Entry>;
  using Batch = std::vector<Ptr>;
  using Queue = std::deque<Ptr>;

  // `lock` holds the owner's mutex. Queues `entry` and returns, with `lock` released, once a batch
  // holding it is done. On the thread that leads, `commit(lock, queue)` is called with `lock` held:
  // it takes its batch out of `queue` (all of it or a part; the first entry at least), commits it
  // with `lock` released meanwhile, sets each entry's result, and returns the batch with `lock`
  // held again. It must not throw: a caller left queued would never wake.
  template <class Commit>
  void submit(std::unique_lock<std::mutex>& lock, const Ptr& entry, Commit&& commit) {
    queue_.push_back(entry);
    if (leading_) {
      entry->wake.wait(lock, [&] { return entry->state != GroupEntry::State::Queued; });
      if (entry->state == GroupEntry::State::Done) return lock.unlock();
      // Handed the lead: leading_ stayed set for this thread, and `entry` is first in the queue.
    }
    leading_ = true;
    Batch done = commit(lock, queue_);
    for (const auto& e : done) e->state = GroupEntry::State::Done;
    Ptr next;
    if (!queue_.empty()) {
      next = queue_.front();
      next->state = GroupEntry::State::Lead;
    } else {
      leading_ = false;
    }
    lock.unlock();
    // Woken after the mutex is released, so that none blocks on it at once; `done` and `next`
    // keep the entries alive until then.
    for (const auto& e : done) {
      if (e != entry) e->wake.notify_one();
    }
    if (next) next->wake.notify_one();
  }

  // Under the owner's mutex.
  bool leading() const { return leading_; }
  std::size_t queued() const { return queue_.size(); }

 private:
  Queue queue_;
  bool leading_ = false;  // a batch is being formed or committed
};

}  // namespace pisigner::hwm::detail
