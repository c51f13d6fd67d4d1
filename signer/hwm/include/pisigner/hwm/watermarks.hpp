// The HWM step of the sign path: serialise per key, decide, persist before signing.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "pisigner/hwm/rules.hpp"
#include "pisigner/hwm/shared.hpp"
#include "pisigner/hwm/store.hpp"

namespace pisigner::hwm {

struct AdvanceError {
  // Refused: the rule (local or shared) said no (message in octez wording). Store: the watermark
  // could not be made durable, nothing was released. SignFailed: the watermark advanced durably,
  // then `sign` failed. SharedUnavailable: the shared watermark's outcome is unknown; nothing released.
  enum class Code { Refused, Store, SignFailed, SharedUnavailable };
  Code code = Code::Refused;
  std::string message;
};

inline constexpr std::size_t kDefaultMaxChainsPerKey = 4;

struct WatermarkLimits {
  RuleOptions rules;
  // Distinct chain ids one pkh may hold watermarks for, records already in the store included: each
  // new chain costs a lock, a cache entry and a durable row for good. 0: no cap.
  std::size_t max_chains_per_key = kDefaultMaxChainsPerKey;
};

// Thread-safe. Requests for the same HwmKey run one at a time; different keys only share the store.
class Watermarks {
 public:
  // `shared`, when set, must allow every signature too (see sign_once) and outlive this object.
  explicit Watermarks(Store& store, WatermarkLimits limits = {}, SharedWatermark* shared = nullptr);

  // Runs `sign` under the key's lock iff the rule allows it, after the new watermark is durable.
  // `sign` returns the base58 signature or an error message (the watermark stays advanced: a failed
  // sign must never allow another payload at the same level and round).
  // Returns the signature (fresh or cached) or an AdvanceError; on Code::Store `sign` was not called.
  // A chain past limits.max_chains_per_key for key.pkh is Code::Refused before anything is stored.
  // A failed put_signature() does not fail the call (see signature_store_failures()).
  // `start`, when set, runs once the rule allows signing and before the fsync: work that signs
  // nothing (a Ledger receiving the derivation path) overlaps the fsync there.
  // With a shared watermark, its advance runs alongside the local fsync and `sign`; the signature is
  // returned only once both the local record is durable and the shared verdict released it.
  Result<std::string, AdvanceError> sign_once(
      const HwmKey& key, const Request& request,
      const std::function<Result<std::string, std::string>()>& sign,
      const std::function<void()>& start = {});

  // Signatures returned although put_signature() failed (the watermark itself was durable).
  std::uint64_t signature_store_failures() const { return signature_store_failures_.load(); }
  // Signatures released without the shared watermark (its key allows "local" when unavailable).
  std::uint64_t degraded_releases() const { return degraded_releases_.load(); }

 private:
  // The key's lock; a key not seen before is first checked against the chain cap.
  Result<std::mutex*, AdvanceError> lock_for(const HwmKey& key);
  Result<void, AdvanceError> check_chain_cap(const HwmKey& key);  // caller holds map_mu_
  Result<std::string, AdvanceError> settle(const HwmKey& key, Record record, const SharedVerdict& verdict,
                                           bool durable_signature);
  static bool adopt_shared(const HwmKey& key, const Record& local, const Record& shared);
  Store& store_;
  const WatermarkLimits limits_;
  SharedWatermark* const shared_;
  std::atomic<std::uint64_t> signature_store_failures_{0};
  std::atomic<std::uint64_t> degraded_releases_{0};
  std::mutex map_mu_;
  std::map<HwmKey, std::unique_ptr<std::mutex>> locks_;  // guarded by map_mu_; entries live forever
};

}  // namespace pisigner::hwm
