#include "txn_batcher.hpp"

#include <algorithm>
#include <exception>
#include <optional>

namespace pisigner::hwm::etcd {

// One caller's CAS.
struct TxnBatcher::Pending : detail::GroupEntry {
  explicit Pending(CasOp o) : op(std::move(o)) {}
  CasOp op;
  Result<TxnReply, KvError> result = fail(KvError{KvError::Code::Unknown, "no reply"});
  // A CAS of a key already in the txn: index of that key's CAS in it, answered from its outcome.
  std::optional<std::size_t> shadows;
};

TxnBatcher::TxnBatcher(Kv& kv, BatchLimits limits, std::atomic<std::uint64_t>& txns)
    : kv_(kv), limits_{std::clamp<std::size_t>(limits.max_ops, 1, 64), limits.max_bytes}, txns_(txns) {}

std::size_t TxnBatcher::waiting() const {
  std::lock_guard lock(mu_);
  return group_.queued();
}

Result<TxnReply, KvError> TxnBatcher::cas(CasOp op) {
  auto self = std::make_shared<Pending>(std::move(op));
  std::unique_lock lock(mu_);
  group_.submit(lock, self, [this](std::unique_lock<std::mutex>& held, Group::Queue& queue) { return lead(held, queue); });
  return std::move(self->result);
}

TxnBatcher::Batch TxnBatcher::lead(std::unique_lock<std::mutex>& lock, Group::Queue& queue) {
  // The txn: queued CAS in arrival order, distinct keys, within the caps. The first always goes
  // (it is the leader's own). A later CAS of a key already in it rides along unsent.
  Batch sent, shadowed;
  Group::Queue rest;
  std::size_t bytes = 0;
  for (auto& p : queue) {
    auto same = std::find_if(sent.begin(), sent.end(), [&](const auto& s) { return s->op.key == p->op.key; });
    const std::size_t size = p->op.key.size() + p->op.value.size();
    if (same != sent.end()) {
      p->shadows = static_cast<std::size_t>(same - sent.begin());
      shadowed.push_back(std::move(p));
    } else if (sent.empty() || (sent.size() < limits_.max_ops && bytes + size <= limits_.max_bytes)) {
      bytes += size;
      sent.push_back(std::move(p));
    } else {
      rest.push_back(std::move(p));
    }
  }
  queue = std::move(rest);
  lock.unlock();

  send(sent);
  try {
    answer_shadowed(sent, shadowed);
  } catch (...) {  // a shadowed CAS left unanswered keeps its "no reply" (Unknown): nothing released
  }

  lock.lock();
  sent.insert(sent.end(), shadowed.begin(), shadowed.end());
  return sent;
}

void TxnBatcher::answer_shadowed(const Batch& sent, const Batch& shadowed) {
  for (const auto& p : shadowed) {
    const auto& first = sent[*p->shadows];
    if (!first->result) {
      p->result = fail(KvError{KvError::Code::NotApplied, "not sent: a CAS of the same key went first and failed: " +
                                                              first->result.error().message});
    } else if (first->result->succeeded) {  // the key now holds the first CAS's value
      p->result = TxnReply{first->result->header, false,
                           KeyValue{first->op.key, first->op.value, 0, first->result->header.revision}};
    } else {
      p->result = *first->result;  // nothing landed: the key as the failure branch read it
    }
  }
}

void TxnBatcher::send(const Batch& batch) {
  auto fail_all = [&](KvError e) {
    for (auto& p : batch) p->result = fail(e);
  };
  try {
    ++txns_;
    if (batch.size() == 1) {
      batch.front()->result = kv_.cas(batch.front()->op.key, batch.front()->op.mod_revision, batch.front()->op.value);
      return;
    }
    std::vector<CasOp> ops;
    ops.reserve(batch.size());
    for (const auto& p : batch) ops.push_back(p->op);
    auto reply = kv_.cas_batch(ops);
    if (!reply) return fail_all(reply.error());  // Unknown: all landed or none; each key's re-read tells
    if (!reply->succeeded && reply->current.size() != batch.size()) {
      return fail_all(KvError{KvError::Code::Unknown, "etcd reply: failed txn without a range per key"});
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      TxnReply r{reply->header, reply->succeeded, std::nullopt};
      if (!reply->succeeded) r.current = reply->current[i];
      batch[i]->result = std::move(r);
    }
  } catch (const std::exception& e) {  // nothing may strand the callers waiting on this txn
    fail_all(KvError{KvError::Code::Unknown, std::string("etcd txn: ") + e.what()});
  } catch (...) {
    fail_all(KvError{KvError::Code::Unknown, "etcd txn: unknown exception"});
  }
}

}  // namespace pisigner::hwm::etcd
