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
#include "pisigner/hwm/store.hpp"

namespace pisigner::hwm {

struct AdvanceError {
  // Refused: the rule said no (message in octez wording). Store: the watermark could not be made
  // durable, nothing was signed. SignFailed: the watermark advanced durably, then `sign` failed.
  enum class Code { Refused, Store, SignFailed };
  Code code = Code::Refused;
  std::string message;
};

// Thread-safe. Requests for the same HwmKey run one at a time; different keys only share the store.
class Watermarks {
 public:
  explicit Watermarks(Store& store);

  // Runs `sign` under the key's lock iff the rule allows it, after the new watermark is durable.
  // `sign` returns the base58 signature or an error message (the watermark stays advanced: a failed
  // sign must never allow another payload at the same level and round).
  // Returns the signature (fresh or cached) or an AdvanceError; on Code::Store `sign` was not called.
  // A failed put_signature() does not fail the call (see signature_store_failures()).
  // `start`, when set, runs once the rule allows signing and before the fsync: work that signs
  // nothing (a Ledger receiving the derivation path) overlaps the fsync there.
  Result<std::string, AdvanceError> sign_once(
      const HwmKey& key, const Request& request,
      const std::function<Result<std::string, std::string>()>& sign,
      const std::function<void()>& start = {});

  // Signatures returned although put_signature() failed (the watermark itself was durable).
  std::uint64_t signature_store_failures() const { return signature_store_failures_.load(); }

 private:
  std::mutex& lock_for(const HwmKey& key);
  Store& store_;
  std::atomic<std::uint64_t> signature_store_failures_{0};
  std::mutex map_mu_;
  std::map<HwmKey, std::unique_ptr<std::mutex>> locks_;  // guarded by map_mu_; entries live forever
};

}  // namespace pisigner::hwm
