// An in-memory etcd for protocol tests: revisions as etcd counts them, and faults a real network
// produces (a write that lands but whose reply is lost, a write that never left, NOSPACE), and
// txns of several keys applied all or nothing.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "pisigner/hwm/etcd/kv.hpp"

namespace pisigner::hwm::etcd::testing {

class MemoryKv final : public Kv {
 public:
  enum class Fault { None, LandThenLoseReply, LoseBeforeApply, NotApplied, NoSpace, ReadFails };

  Result<std::optional<KeyValue>, KvError> get(std::string_view key) override {
    std::lock_guard lock(mu_);
    ++reads;
    if (take(read_faults_) == Fault::ReadFails) return fail(KvError{KvError::Code::NotApplied, "read refused"});
    auto it = data_.find(std::string(key));
    if (it == data_.end()) return std::optional<KeyValue>();
    return std::optional<KeyValue>(it->second);
  }

  Result<TxnReply, KvError> cas(std::string_view key, std::int64_t mod_revision, std::string_view value) override {
    const CasOp op{std::string(key), mod_revision, std::string(value)};
    auto r = cas_batch(std::span<const CasOp>(&op, 1));
    if (!r) return fail(r.error());
    TxnReply one{r->header, r->succeeded, std::nullopt};
    if (!r->succeeded) one.current = r->current.front();
    return one;
  }

  // As etcd: all or nothing, a key written twice or more than 128 operations is refused (HTTP 400).
  Result<BatchTxnReply, KvError> cas_batch(std::span<const CasOp> ops) override {
    std::unique_lock lock(mu_);
    ++txns;
    batch_sizes.push_back(ops.size());
    std::set<std::string> keys;
    for (const auto& op : ops) {
      if (!keys.insert(op.key).second) {
        return fail(KvError{KvError::Code::NotApplied, "etcdserver: duplicate key given in txn request"});
      }
    }
    if (3 * ops.size() > 128) return fail(KvError{KvError::Code::NotApplied, "etcdserver: too many operations in txn request"});
    const Fault f = take(write_faults_);
    if (f == Fault::NotApplied) return fail(KvError{KvError::Code::NotApplied, "connection refused"});
    if (f == Fault::NoSpace) return fail(KvError{KvError::Code::NoSpace, "mvcc: database space exceeded"});
    if (f == Fault::LoseBeforeApply) return fail(KvError{KvError::Code::Unknown, "timeout before apply"});
    if (during_txn) {  // a txn that takes a while: others queue behind it (read once, set before use)
      lock.unlock();
      during_txn();
      lock.lock();
    }
    if (before_cas) {  // another signer gets in between our read and our txn
      auto hook = std::move(before_cas);
      before_cas = nullptr;
      lock.unlock();
      hook();
      lock.lock();
    }
    BatchTxnReply r;
    r.succeeded = std::all_of(ops.begin(), ops.end(), [&](const CasOp& op) {
      auto it = data_.find(op.key);
      return (it == data_.end() ? 0 : it->second.mod_revision) == op.mod_revision;
    });
    if (r.succeeded) {
      ++revision_;  // one revision for the whole txn, as etcd counts it
      for (const auto& op : ops) {
        auto it = data_.find(op.key);
        data_[op.key] = KeyValue{op.key, op.value, it == data_.end() ? revision_ : it->second.create_revision, revision_};
      }
    } else {
      for (const auto& op : ops) {
        auto it = data_.find(op.key);
        r.current.push_back(it == data_.end() ? std::nullopt : std::optional<KeyValue>(it->second));
      }
    }
    r.header.revision = revision_;
    if (f == Fault::LandThenLoseReply) return fail(KvError{KvError::Code::Unknown, "reply lost"});
    return r;
  }

  Result<void, KvError> put(std::string_view key, std::string_view value) override {
    std::lock_guard lock(mu_);
    const Fault f = take(write_faults_);
    if (f == Fault::NoSpace) return fail(KvError{KvError::Code::NoSpace, "mvcc: database space exceeded"});
    if (f != Fault::None) return fail(KvError{KvError::Code::NotApplied, "put refused"});
    ++revision_;
    data_[std::string(key)] = KeyValue{std::string(key), std::string(value), revision_, revision_};
    return {};
  }

  void fail_writes(std::initializer_list<Fault> faults) { fail_writes(std::vector<Fault>(faults)); }
  void fail_writes(const std::vector<Fault>& faults) {
    std::lock_guard lock(mu_);
    write_faults_.insert(write_faults_.end(), faults.begin(), faults.end());
  }
  void fail_reads(std::size_t n) {
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < n; ++i) read_faults_.push_back(Fault::ReadFails);
  }
  std::optional<KeyValue> raw(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = data_.find(key);
    if (it == data_.end()) return std::nullopt;
    return it->second;
  }
  void set_raw(const std::string& key, const std::string& value) {
    std::lock_guard lock(mu_);
    ++revision_;
    data_[key] = KeyValue{key, value, revision_, revision_};
  }

  std::function<void()> before_cas;  // runs once, inside the next txn, before its compare
  std::function<void()> during_txn;  // runs inside every txn; set before any txn starts
  int reads = 0;
  int txns = 0;
  std::vector<std::size_t> batch_sizes;  // CAS per txn, in order

 private:
  static Fault take(std::deque<Fault>& q) {
    if (q.empty()) return Fault::None;
    Fault f = q.front();
    q.pop_front();
    return f;
  }
  std::mutex mu_;
  std::map<std::string, KeyValue> data_;
  std::int64_t revision_ = 1;
  std::deque<Fault> write_faults_;
  std::deque<Fault> read_faults_;
};

}  // namespace pisigner::hwm::etcd::testing
