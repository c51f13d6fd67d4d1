#include "pisigner/hwm/etcd/cluster_watermark.hpp"

#include <thread>

#include <spdlog/spdlog.h>

#include "pisigner/hwm/etcd/wire.hpp"
#include "txn_batcher.hpp"

namespace pisigner::hwm::etcd {
namespace {

SharedVerdict verdict(SharedVerdict::Action action, std::string message = {}) {
  return SharedVerdict{action, {}, std::move(message), std::nullopt, false};
}

bool same_slot(const Record& r, const Request& q) {
  return r.level == q.level && r.round == q.round && r.hash == q.hash;
}

std::int64_t unix_ms(const Clock& clock) { return clock.unix_seconds() * 1000; }

// Resends of a CAS whose own compare held in a batch that another key's compare failed. Each one
// means another signer won a race on another key; the budget bounds them too.
constexpr int kMaxBatchRetries = 32;

}  // namespace

ClusterWatermark::ClusterWatermark(Kv& kv, ClusterOptions options, const Clock& clock)
    : kv_(kv), options_(std::move(options)), clock_(clock),
      batcher_(std::make_unique<TxnBatcher>(kv_, BatchLimits{options_.max_batch_ops, options_.max_batch_bytes},
                                            stats_.txns)) {
  const std::size_t n = std::max<std::size_t>(1, options_.workers);
  for (std::size_t i = 0; i < n; ++i) workers_.emplace_back([this] { work(); });
}

ClusterWatermark::~ClusterWatermark() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

std::size_t ClusterWatermark::waiting_cas() const { return batcher_->waiting(); }

void ClusterWatermark::work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and every queued advance has run
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
  }
}

std::future<SharedVerdict> ClusterWatermark::begin_advance(const HwmKey& key, const Request& request) {
  auto promise = std::make_shared<std::promise<SharedVerdict>>();
  auto future = promise->get_future();
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) {
      promise->set_value(verdict(SharedVerdict::Action::Unavailable, "cluster watermark is shutting down"));
      return future;
    }
    queue_.push_back([this, promise, key, request] { promise->set_value(advance(key, request)); });
  }
  queue_cv_.notify_one();
  return future;
}

SharedVerdict ClusterWatermark::advance(const HwmKey& key, const Request& request) {
  try {
    return run(key, request);
  } catch (const std::exception& e) {  // nothing may escape a worker; an unexpected error releases nothing
    forget(key);
    return unavailable(key, std::string("cluster watermark: ") + e.what(), false);
  }
}

SharedVerdict ClusterWatermark::unavailable(const HwmKey& key, std::string why, bool nospace) {
  if (options_.local_when_unavailable && options_.local_when_unavailable(key.pkh)) {
    ++stats_.degraded;
    spdlog::warn("cluster watermark unavailable, key {} signs on the local watermark alone "
                 "(on_cluster_unavailable = \"local\"): {}", key.pkh.to_b58(), why);
    SharedVerdict v = verdict(SharedVerdict::Action::Release, std::move(why));
    v.degraded = true;
    return v;
  }
  ++(nospace ? stats_.refused_nospace : stats_.refused_unavailable);
  return verdict(SharedVerdict::Action::Unavailable, "cluster watermark unavailable: " + why);
}

Result<ClusterWatermark::Cached, ClusterWatermark::ReadError> ClusterWatermark::read(const std::string& name) {
  auto kv = kv_.get(name);
  if (!kv) return fail(ReadError{false, kv.error().message});
  if (!*kv) return Cached{0, std::nullopt};
  auto stored = decode_record((*kv)->value);
  if (!stored) return fail(ReadError{true, stored.error().message + " at " + name});
  return Cached{(*kv)->mod_revision, std::move(stored->record)};
}

SharedVerdict ClusterWatermark::run(const HwmKey& key, const Request& request) {
  const auto deadline = clock_.now() + options_.budget;
  const std::string name = record_key(key);
  const std::string budget_text = std::to_string(options_.budget.count()) + " ms";

  std::optional<Cached> state = cached(key);
  std::string last_error;
  int batch_retries = 0;
  for (int round = 0; round < options_.max_rounds;) {
    if (clock_.now() >= deadline) return unavailable(key, "no answer within " + budget_text + ": " + last_error, false);
    if (!state) {  // no cache, or an unknown outcome to resolve: a linearizable read decides
      auto fresh = read(name);
      if (!fresh) {
        last_error = fresh.error().message;
        if (fresh.error().corrupt) return unavailable(key, last_error, false);
        if (options_.retry_backoff.count() > 0) std::this_thread::sleep_for(options_.retry_backoff);
        continue;
      }
      state = std::move(*fresh);
      remember(key, *state);
    }

    const Decision d = decide(key.kind, state->record, request);
    if (d.action == Decision::Action::Refuse) {
      ++stats_.refused_watermark;
      SharedVerdict v = verdict(SharedVerdict::Action::Refuse, "cluster high watermark: " + d.message);
      if (state->record) {
        v.record = *state->record;
        v.record->signature.reset();  // the local copy never answers with another signer's signature
      }
      return v;
    }
    if (d.action == Decision::Action::ReturnCached) {
      SharedVerdict v = verdict(SharedVerdict::Action::ReturnStored);
      v.signature = d.signature;
      return v;
    }
    // The record already covers these bytes (our write, or the other Pi's of the same payload).
    if (state->record && same_slot(*state->record, request)) return verdict(SharedVerdict::Action::Release);

    const Record next{request.level, request.round, request.hash, std::nullopt};
    const auto started = clock_.now();
    // Through the group commit: keys waiting at the same time share one txn. etcd applies a txn
    // all or nothing, so each key's CAS in it keeps the proof of reference/etcd-hwm.md §4: our put
    // lands only if our own compare (MOD == the rev behind this decision) held, at the txn's
    // revision, and a failed txn applied nothing of ours.
    auto txn = batcher_->cas(CasOp{name, state->mod_revision, encode_record(next, options_.node, unix_ms(clock_))});
    if (cas_observer_) cas_observer_(std::chrono::duration<double>(clock_.now() - started).count());
    if (txn && txn->succeeded) {
      ++stats_.writes;
      last_write_ = clock_.now().time_since_epoch().count();
      remember(key, Cached{txn->header.revision, next});
      return verdict(SharedVerdict::Action::Release);
    }
    if (txn) {
      const std::int64_t now_rev = txn->current ? txn->current->mod_revision : 0;
      if (now_rev == state->mod_revision && batch_retries < kMaxBatchRetries) {
        // Our compare held: another key of the batch lost its race and the txn applied nothing.
        // The decision stands; send it again (not a lost round of ours; bounded, and by the budget).
        ++batch_retries;
        ++stats_.batch_retries;
        continue;
      }
      ++round;
      // Another writer moved the record since our read: adopt theirs and decide again.
      ++stats_.lost_races;
      if (!txn->current) {
        state = Cached{0, std::nullopt};
      } else {
        auto stored = decode_record(txn->current->value);
        if (!stored) return unavailable(key, stored.error().message + " at " + name, false);
        state = Cached{txn->current->mod_revision, std::move(stored->record)};
      }
      remember(key, *state);
      continue;
    }
    ++round;
    last_error = txn.error().message;
    switch (txn.error().code) {
      case KvError::Code::NoSpace:
        forget(key);
        spdlog::error("etcd NOSPACE alarm: every signature is refused until an operator compacts, defragments "
                      "and disarms it: {}", last_error);
        return unavailable(key, last_error, true);
      case KvError::Code::NotApplied:
        forget(key);
        state.reset();
        continue;  // nothing landed: try again (the client has moved on to another member)
      case KvError::Code::Unknown:
        // Our record may have landed. The next read decides: ours (same slot) releases, a lower
        // record retries the CAS from it, anything else is decided by the rule.
        ++stats_.unknown_outcomes;
        spdlog::warn("etcd write for {} has an unknown outcome, re-reading: {}", name, last_error);
        forget(key);
        state.reset();
        while (!state && clock_.now() < deadline) {
          auto fresh = read(name);
          if (fresh) {
            state = std::move(*fresh);
            remember(key, *state);
            if (state->record && same_slot(*state->record, request)) ++stats_.unknown_landed;
          } else {
            last_error = fresh.error().message;
            if (fresh.error().corrupt) return unavailable(key, last_error, false);
            if (options_.retry_backoff.count() > 0) std::this_thread::sleep_for(options_.retry_backoff);
          }
        }
        if (!state) return unavailable(key, "write outcome still unknown after " + budget_text + ": " + last_error, false);
        continue;
    }
  }
  return unavailable(key, "no verdict after " + std::to_string(options_.max_rounds) + " compare-and-set attempts" +
                              (last_error.empty() ? std::string(" (lost races)") : ": " + last_error),
                     false);
}

Result<void, KvError> ClusterWatermark::probe(std::chrono::milliseconds fresh) {
  const auto last = last_write_.load();
  if (last != 0 && clock_.now() - Clock::TimePoint(Clock::Duration(last)) < fresh) return {};
  const auto deadline = clock_.now() + options_.budget;
  // Bounded by count too: the budget alone never ends on a clock that does not move.
  const long attempts = options_.retry_backoff.count() > 0 ? options_.budget / options_.retry_backoff + 1
                                                          : options_.max_rounds;
  for (long attempt = 1;; ++attempt) {
    auto put = kv_.put(std::string(kKeyPrefix) + "probe/" + options_.node, std::to_string(unix_ms(clock_)));
    if (put) {
      last_write_ = clock_.now().time_since_epoch().count();
      return put;
    }
    if (put.error().code == KvError::Code::NoSpace || clock_.now() >= deadline || attempt >= attempts) return put;
    if (options_.retry_backoff.count() > 0) std::this_thread::sleep_for(options_.retry_backoff);
  }
}

std::optional<ClusterWatermark::Cached> ClusterWatermark::cached(const HwmKey& key) {
  std::lock_guard lock(cache_mu_);
  auto it = cache_.find(key);
  if (it == cache_.end()) return std::nullopt;
  return it->second;
}

void ClusterWatermark::remember(const HwmKey& key, Cached c) {
  std::lock_guard lock(cache_mu_);
  cache_[key] = std::move(c);
}

void ClusterWatermark::forget(const HwmKey& key) {
  std::lock_guard lock(cache_mu_);
  cache_.erase(key);
}

}  // namespace pisigner::hwm::etcd
