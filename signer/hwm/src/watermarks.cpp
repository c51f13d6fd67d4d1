#include "pisigner/hwm/watermarks.hpp"

#include <chrono>
#include <set>

namespace pisigner::hwm {

Watermarks::Watermarks(Store& store, WatermarkLimits limits, SharedWatermark* shared)
    : store_(store), limits_(limits), shared_(shared) {}

Result<std::mutex*, AdvanceError> Watermarks::lock_for(const HwmKey& key) {
  std::lock_guard lock(map_mu_);
  auto it = locks_.find(key);
  if (it == locks_.end()) {  // rare: a (kind, chain, pkh) not seen since start
    if (auto capped = check_chain_cap(key); !capped) return fail(capped.error());
    it = locks_.emplace(key, std::make_unique<std::mutex>()).first;
  }
  return it->second.get();  // entries are never erased, so the pointer stays valid
}

Result<void, AdvanceError> Watermarks::check_chain_cap(const HwmKey& key) {
  const std::size_t cap = limits_.max_chains_per_key;
  if (cap == 0) return {};
  std::set<tezos::ChainId> chains;
  for (const auto& [k, m] : locks_) {
    if (k.pkh != key.pkh) continue;
    if (k.chain == key.chain) return {};  // another kind on a chain already in use
    chains.insert(k.chain);
  }
  auto records = store_.list();
  if (!records) return fail(AdvanceError{AdvanceError::Code::Store, records.error().message});
  for (const auto& [k, r] : *records) {
    if (k.pkh != key.pkh) continue;
    if (k.chain == key.chain) return {};
    chains.insert(k.chain);
  }
  if (chains.size() < cap) return {};
  return fail(AdvanceError{AdvanceError::Code::Refused,
                           "chain " + key.chain.to_b58() + " refused: key " + key.pkh.to_b58() + " already has " +
                               std::to_string(chains.size()) + " chains, the cap (policy.max_chains_per_key = " +
                               std::to_string(cap) + ")"});
}

Result<std::string, AdvanceError> Watermarks::sign_once(
    const HwmKey& key, const Request& request, const std::function<Result<std::string, std::string>()>& sign,
    const std::function<void()>& start) {
  auto key_mutex = lock_for(key);
  if (!key_mutex) return fail(key_mutex.error());
  std::lock_guard key_lock(**key_mutex);

  auto stored = store_.get(key);
  if (!stored) return fail(AdvanceError{AdvanceError::Code::Store, stored.error().message});
  const Decision decision = decide(key.kind, *stored, request, limits_.rules);
  switch (decision.action) {
    case Decision::Action::Refuse:
      return fail(AdvanceError{AdvanceError::Code::Refused, decision.message});
    case Decision::Action::ReturnCached:
      return decision.signature;
    case Decision::Action::Sign:
      break;
  }

  // The shared advance (a network round trip) overlaps the local fsync and the signature: a
  // signature that is never released is harmless.
  std::future<SharedVerdict> shared;
  if (shared_) shared = shared_->begin_advance(key, request);
  if (start) start();
  Record record{request.level, request.round, request.hash, std::nullopt};
  // Re-signing the same bytes after a lost signature: that record is already durable (the cache
  // only holds committed records), so skip the second fsync.
  const bool already_durable = *stored && (*stored)->level == record.level && (*stored)->round == record.round &&
                               (*stored)->hash == record.hash;
  if (!already_durable) {
    if (auto put = store_.put_durable(key, record); !put) {
      return fail(AdvanceError{AdvanceError::Code::Store, put.error().message});
    }
  }

  // A shared refusal that is already known spares the key a signature nobody will see; a key with a
  // watermark of its own always waits for the verdict.
  std::optional<SharedVerdict> verdict;
  if (shared.valid() && (request.key_keeps_watermark ||
                         shared.wait_for(std::chrono::seconds(0)) == std::future_status::ready)) {
    verdict = shared.get();
    if (verdict->action != SharedVerdict::Action::Release) return settle(key, record, *verdict, false);
  }

  auto signature = sign();
  if (!signature) return fail(AdvanceError{AdvanceError::Code::SignFailed, signature.error()});
  record.signature = std::move(*signature);
  if (shared.valid()) verdict = shared.get();
  if (!verdict) verdict = SharedVerdict{SharedVerdict::Action::Release, {}, {}, std::nullopt, false};
  return settle(key, std::move(record), *verdict, request.key_keeps_watermark);
}

// The shared record replaces our local one only at the same or a higher (level, round): never lower.
bool Watermarks::adopt_shared(const HwmKey&, const Record& local, const Record& shared) {
  if (shared.level != local.level) return shared.level > local.level;
  return shared.round.value_or(0) >= local.round.value_or(0) && shared.hash != local.hash;
}

// Releases `record.signature` (or the shared one) as the verdict says. Only a released signature
// is kept in the local record: a cached local signature is answered without asking the cluster.
// A key that keeps a watermark of its own (a Ledger) will not sign these bytes a second time, so a
// signature lost in a crash after its release could not be given again on the baker's retry: it is
// made durable (the write probe commits it, sharing a group commit) before it leaves.
Result<std::string, AdvanceError> Watermarks::settle(const HwmKey& key, Record record, const SharedVerdict& verdict,
                                                     bool durable_signature) {
  switch (verdict.action) {
    case SharedVerdict::Action::Refuse:
      // The slot belongs to another signer's record: keep that record locally (without releasing
      // anything), so the payload the cluster holds can still be signed here and ours cannot.
      // If that write fails, our own record stays: stricter, never looser, so it is not an error.
      if (verdict.record && adopt_shared(key, record, *verdict.record)) (void)store_.put_durable(key, *verdict.record);
      return fail(AdvanceError{AdvanceError::Code::Refused, verdict.message});
    case SharedVerdict::Action::Unavailable:
      return fail(AdvanceError{AdvanceError::Code::SharedUnavailable, verdict.message});
    case SharedVerdict::Action::ReturnStored:
      record.signature = verdict.signature;
      break;
    case SharedVerdict::Action::Release:
      if (verdict.degraded) degraded_releases_.fetch_add(1);
      break;
  }
  if (!record.signature) return fail(AdvanceError{AdvanceError::Code::SignFailed, "no signature"});
  auto put = store_.put_signature(key, record);
  if (put && durable_signature) put = store_.probe_writable();
  if (!put) {
    // The watermark is durable, so the signature is safe to hand out; losing it only costs a
    // byte-identical re-sign on retry (or, with a Ledger, that retry is refused).
    signature_store_failures_.fetch_add(1);
  }
  return std::move(*record.signature);
}

}  // namespace pisigner::hwm
