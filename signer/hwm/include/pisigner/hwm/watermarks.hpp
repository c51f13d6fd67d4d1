// The HWM step of the sign path: serialise per key, decide, persist before signing.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "pisigner/hwm/rules.hpp"
#include "pisigner/hwm/store.hpp"

namespace pisigner::hwm {

struct AdvanceError {
  enum class Code { Refused, Store };
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
  // Returns the signature (fresh or cached) or why nothing was signed.
  Result<std::string, AdvanceError> sign_once(
      const HwmKey& key, const Request& request,
      const std::function<Result<std::string, std::string>()>& sign);

 private:
  std::mutex& lock_for(const HwmKey& key);
  Store& store_;
  std::mutex map_mu_;
  std::map<HwmKey, std::unique_ptr<std::mutex>> locks_;  // guarded by map_mu_; entries live forever
};

}  // namespace pisigner::hwm
