// The sign path as one pipeline: find key -> authenticate -> policy (magic, chain, watermark
// extraction) -> high watermark (durable before signing) -> key.sign -> cached signature.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <functional>
#include <optional>
#include <string>

#include "pisigner/bytes.hpp"
#include "pisigner/clock.hpp"
#include "pisigner/hwm/watermarks.hpp"
#include "pisigner/keys/registry.hpp"
#include "pisigner/metrics/metrics.hpp"
#include "pisigner/policy/auth.hpp"
#include "pisigner/policy/policy.hpp"
#include "pisigner/result.hpp"

namespace pisigner::core {

enum class SignErrc {
  UnknownKey,       // pkh not configured
  Malformed,        // payload cannot be read (empty, truncated)
  AuthMissing,
  AuthInvalid,
  PolicyRefused,    // magic byte, chain, mainnet
  WatermarkRefused, // at or below the high watermark
  StoreFailed,      // the watermark could not be made durable: nothing was signed
  ClusterUnavailable, // the shared (etcd) watermark could not be advanced in time: nothing released
  BackendUnavailable,
  BackendRefused,
  ShuttingDown,
};
const char* to_string(SignErrc c);

struct SignError {
  SignErrc code;
  std::string message;  // safe to send to the client
};

struct SignRequest {
  tezos::PublicKeyHash pkh;
  Bytes payload;
  std::optional<std::string> authentication;  // base58 signature from ?authentication=
};

struct SignResult {
  std::string signature;  // base58 (edsig/spsig1/p2sig/BLsig)
  std::optional<tezos::Watermark> watermark;
  bool cached = false;  // idempotent re-sign answered from the store
};

// Thread-safe. Collaborators are owned by the caller and outlive the Signer.
class Signer {
 public:
  Signer(const keys::Registry& keys, const policy::Policy& policy, const policy::Authenticator& auth,
         hwm::Watermarks& watermarks, metrics::Registry& metrics, Clock& clock);

  // Signs, then records the request's metrics and log line.
  Result<SignResult, SignError> sign(const SignRequest& request);
  // As sign(), but the metrics and the log line are recorded when `report` is called (once): the
  // HTTP layer calls it after the reply has left, so they are not on the reply's path.
  Result<SignResult, SignError> sign(const SignRequest& request, std::function<void()>& report);

  // Refuse all further signatures (power loss, shutdown). Irreversible.
  void stop_accepting() { accepting_ = false; }
  bool accepting() const { return accepting_; }
  // Signatures currently between authentication and reply (the health prober stays off the device meanwhile).
  int in_flight() const { return in_flight_; }
  // After stop_accepting(): waits until no signature is in flight; false if one still is at `timeout`.
  bool wait_idle(std::chrono::milliseconds timeout);
  Clock::TimePoint last_success() const;

  const keys::Registry& keys() const { return keys_; }
  const policy::Authenticator& authenticator() const { return auth_; }

 private:
  Result<SignResult, SignError> run_pipeline(const SignRequest& request, std::optional<tezos::Watermark>& wm);
  struct Report;  // what record() needs, copied out of the request
  Report report_of(const SignRequest& request, const std::optional<tezos::Watermark>& wm,
                   const Result<SignResult, SignError>& result, Clock::Duration latency) const;
  void record(const Report& report);

  const keys::Registry& keys_;
  const policy::Policy& policy_;
  const policy::Authenticator& auth_;
  hwm::Watermarks& watermarks_;
  metrics::Registry& metrics_;
  Clock& clock_;
  std::atomic<bool> accepting_{true};
  std::atomic<int> in_flight_{0};
  std::mutex idle_mu_;  // wait_idle() sleeps on idle_cv_; a sign that ends the last one wakes it
  std::condition_variable idle_cv_;
  std::atomic<Clock::Duration::rep> last_success_{0};
};

// Declares the signer's metric families on `registry`.
void declare_metrics(metrics::Registry& registry);

}  // namespace pisigner::core
