// An in-memory etcd for protocol tests: revisions as etcd counts them, and faults a real network
// produces (a write that lands but whose reply is lost, a write that never left, NOSPACE).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>

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
    std::unique_lock lock(mu_);
    ++txns;
    const Fault f = take(write_faults_);
    if (f == Fault::NotApplied) return fail(KvError{KvError::Code::NotApplied, "connection refused"});
    if (f == Fault::NoSpace) return fail(KvError{KvError::Code::NoSpace, "mvcc: database space exceeded"});
    if (f == Fault::LoseBeforeApply) return fail(KvError{KvError::Code::Unknown, "timeout before apply"});
    if (before_cas) {  // another signer gets in between our read and our txn
      auto hook = std::move(before_cas);
      before_cas = nullptr;
      lock.unlock();
      hook();
      lock.lock();
    }
    TxnReply r;
    auto it = data_.find(std::string(key));
    const std::int64_t current = it == data_.end() ? 0 : it->second.mod_revision;
    if (current == mod_revision) {
      ++revision_;
      KeyValue kv{std::string(key), std::string(value), it == data_.end() ? revision_ : it->second.create_revision,
                  revision_};
      data_[std::string(key)] = kv;
      r.succeeded = true;
      r.header.revision = revision_;
    } else if (it != data_.end()) {
      r.current = it->second;
    }
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

  void fail_writes(std::initializer_list<Fault> faults) {
    std::lock_guard lock(mu_);
    write_faults_.insert(write_faults_.end(), faults);
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

  std::function<void()> before_cas;  // runs once, inside the next cas, before its compare
  int reads = 0;
  int txns = 0;

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
