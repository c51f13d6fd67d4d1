#include "pisigner/hwm/watermarks.hpp"

namespace pisigner::hwm {

Watermarks::Watermarks(Store& store) : store_(store) {}

std::mutex& Watermarks::lock_for(const HwmKey& key) {
  std::lock_guard lock(map_mu_);
  auto& slot = locks_[key];
  if (!slot) slot = std::make_unique<std::mutex>();
  return *slot;  // entries are never erased, so the reference stays valid
}

Result<std::string, AdvanceError> Watermarks::sign_once(
    const HwmKey& key, const Request& request, const std::function<Result<std::string, std::string>()>& sign,
    const std::function<void()>& start) {
  std::lock_guard key_lock(lock_for(key));

  auto stored = store_.get(key);
  if (!stored) return fail(AdvanceError{AdvanceError::Code::Store, stored.error().message});
  const Decision decision = decide(key.kind, *stored, request);
  switch (decision.action) {
    case Decision::Action::Refuse:
      return fail(AdvanceError{AdvanceError::Code::Refused, decision.message});
    case Decision::Action::ReturnCached:
      return decision.signature;
    case Decision::Action::Sign:
      break;
  }

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

  auto signature = sign();
  if (!signature) return fail(AdvanceError{AdvanceError::Code::SignFailed, signature.error()});

  record.signature = *signature;
  if (auto put = store_.put_signature(key, record); !put) {
    // The watermark is durable, so the signature is safe to hand out; losing it only costs a
    // byte-identical re-sign on retry.
    signature_store_failures_.fetch_add(1);
  }
  return std::move(*signature);
}

}  // namespace pisigner::hwm
