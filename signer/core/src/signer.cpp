#include "pisigner/core/signer.hpp"

#include <spdlog/spdlog.h>

#include "pisigner/crypto/hash.hpp"

namespace pisigner::core {

const char* to_string(SignErrc c) {
  switch (c) {
    case SignErrc::UnknownKey: return "unknown_key";
    case SignErrc::Malformed: return "malformed";
    case SignErrc::AuthMissing: return "auth_missing";
    case SignErrc::AuthInvalid: return "auth_invalid";
    case SignErrc::PolicyRefused: return "policy_refused";
    case SignErrc::WatermarkRefused: return "watermark_refused";
    case SignErrc::StoreFailed: return "store_failed";
    case SignErrc::ClusterUnavailable: return "cluster_unavailable";
    case SignErrc::BackendUnavailable: return "backend_unavailable";
    case SignErrc::BackendRefused: return "backend_refused";
    case SignErrc::ShuttingDown: return "shutting_down";
  }
  return "error";
}

namespace {
// Base58 of the chain id, remembered per thread: a baker signs on one chain for months.
const std::string& chain_text(const tezos::ChainId& chain) {
  thread_local std::optional<std::pair<tezos::ChainId, std::string>> last;
  if (!last || last->first != chain) last.emplace(chain, chain.to_b58());
  return last->second;
}

// The kind label of a request without a watermark. The first byte is the client's: a label per byte
// value would be a series per value, so bytes that are no Tezos magic share one.
std::string magic_label(const Bytes& payload) {
  using namespace tezos::magic;
  if (payload.empty()) return "empty";
  switch (payload[0]) {
    case kLegacyBlock:
    case kLegacyEndorsement:
    case kGeneric:
    case kAuthenticatedRequest:
    case kMichelson:
    case kBlock:
    case kPreattestation:
    case kAttestation: return "magic_" + to_hex(ByteView(payload).first(1));
    default: return "magic_other";
  }
}
}  // namespace

void declare_metrics(metrics::Registry& r) {
  r.declare_counter("pisigner_sign_requests_total", "Signing requests by kind and result.");
  r.declare_histogram("pisigner_sign_duration_seconds", "Sign pipeline latency (request parsed to signature).",
                      metrics::latency_buckets());
  r.declare_counter("pisigner_watermark_refusals_total", "Requests refused at or below the high watermark.");
  r.declare_counter("pisigner_policy_refusals_total", "Requests refused by the magic-byte/chain policy.");
  r.declare_counter("pisigner_auth_failures_total", "Requests with missing or invalid authentication.");
}

Signer::Signer(const keys::Registry& keys, const policy::Policy& policy, const policy::Authenticator& auth,
               hwm::Watermarks& watermarks, metrics::Registry& metrics, Clock& clock)
    : keys_(keys), policy_(policy), auth_(auth), watermarks_(watermarks), metrics_(metrics), clock_(clock) {
  declare_metrics(metrics_);
}

bool Signer::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(idle_mu_);
  return idle_cv_.wait_for(lock, timeout, [this] { return in_flight_.load() == 0; });
}

Clock::TimePoint Signer::last_success() const { return Clock::TimePoint(Clock::Duration(last_success_.load())); }

struct Signer::Report {
  tezos::PublicKeyHash pkh;
  std::string kind;
  std::optional<tezos::Watermark> wm;
  std::string outcome;
  std::optional<SignErrc> error;
  std::string error_message;
  Clock::Duration latency;
};

Result<SignResult, SignError> Signer::sign(const SignRequest& request) {
  std::function<void()> report;
  auto result = sign(request, report);
  report();
  return result;
}

Result<SignResult, SignError> Signer::sign(const SignRequest& request, std::function<void()>& report) {
  const auto start = clock_.now();
  ++in_flight_;
  std::optional<tezos::Watermark> wm;
  auto result = run_pipeline(request, wm);
  if (--in_flight_ == 0 && !accepting_) {
    // Shutting down: someone may wait for the last signature (wait_idle). Only then the lock.
    std::lock_guard lock(idle_mu_);
    idle_cv_.notify_all();
  }
  const auto latency = clock_.now() - start;
  if (result) last_success_ = clock_.now().time_since_epoch().count();
  report = [this, r = report_of(request, wm, result, latency)] { record(r); };
  return result;
}

// The pipeline itself: each step either refuses (nothing signed) or hands on.
Result<SignResult, SignError> Signer::run_pipeline(const SignRequest& req, std::optional<tezos::Watermark>& wm) {
  if (!accepting_) return fail(SignError{SignErrc::ShuttingDown, "signer is shutting down"});

  const keys::KeyEntry* entry = keys_.find(req.pkh);                                   // 1. key
  if (!entry) return fail(SignError{SignErrc::UnknownKey, "no keys for the source contract " + req.pkh.to_b58()});

  if (auto ok = auth_.check(req.pkh, req.payload, req.authentication); !ok) {           // 2. authenticate
    const bool missing = ok.error().code == policy::AuthError::Code::Missing;
    return fail(SignError{missing ? SignErrc::AuthMissing : SignErrc::AuthInvalid, ok.error().message});
  }

  auto checked = policy_.check(req.payload, req.pkh.curve, keys::mainnet_allowed(*entry)); // 3+4. policy, watermark
  if (!checked) {
    const bool malformed = checked.error().code == policy::PolicyError::Code::Malformed;
    return fail(SignError{malformed ? SignErrc::Malformed : SignErrc::PolicyRefused, checked.error().message});
  }
  wm = *checked;

  const crypto::Digest32 digest = crypto::blake2b_256(req.payload);
  keys::Key& key = *entry->key;
  std::optional<keys::KeyError::Code> key_error;
  std::unique_ptr<keys::PendingSignature> pending;  // begun before the fsync, finished after it
  auto sign_now = [&]() -> Result<std::string, std::string> {                            // 6. sign
    auto sig = pending ? pending->finish() : key.sign(req.payload, digest);
    if (!sig) {
      key_error = sig.error().code;
      return fail(sig.error().message);
    }
    return sig->to_b58();
  };
  // A device refusal is final (500); anything else may succeed on the standby Pi (503).
  auto backend_failure = [&](std::string message) {
    const bool refused = key_error == keys::KeyError::Code::Refused;
    return SignError{refused ? SignErrc::BackendRefused : SignErrc::BackendUnavailable, std::move(message)};
  };

  if (!wm) {  // no watermark for this kind (e.g. 0x03 when allowed): nothing to protect
    auto sig = sign_now();
    if (!sig) return fail(backend_failure(sig.error()));
    return SignResult{*sig, std::nullopt, false};
  }

  hwm::HwmKey hkey{wm->kind, wm->chain, req.pkh};                                        // 5. watermark, durable
  hwm::Request hreq{wm->level, wm->round, digest, key.deterministic(), key.keeps_own_watermark()};
  bool fresh = false;
  auto signed_ = watermarks_.sign_once(
      hkey, hreq,
      [&] {
        fresh = true;
        return sign_now();
      },
      [&] { pending = key.begin_sign(req.payload, digest); });
  if (!signed_) {
    switch (signed_.error().code) {
      case hwm::AdvanceError::Code::Refused:
        return fail(SignError{SignErrc::WatermarkRefused, signed_.error().message});
      case hwm::AdvanceError::Code::Store:
        return fail(SignError{SignErrc::StoreFailed, signed_.error().message});
      case hwm::AdvanceError::Code::SignFailed:
        return fail(backend_failure(signed_.error().message));
      case hwm::AdvanceError::Code::SharedUnavailable:
        return fail(SignError{SignErrc::ClusterUnavailable, signed_.error().message});
    }
  }
  return SignResult{std::move(signed_).value(), wm, !fresh};
}

Signer::Report Signer::report_of(const SignRequest& req, const std::optional<tezos::Watermark>& wm,
                                 const Result<SignResult, SignError>& result, Clock::Duration latency) const {
  Report r{req.pkh, {}, wm, {}, std::nullopt, {}, latency};
  r.kind = wm ? std::string(tezos::kind_name(wm->kind)) : magic_label(req.payload);
  r.outcome = result ? (result->cached ? "cached" : "ok") : to_string(result.error().code);
  if (!result) {
    r.error = result.error().code;
    r.error_message = result.error().message;
  }
  return r;
}

void Signer::record(const Report& r) {
  const double seconds = std::chrono::duration<double>(r.latency).count();
  metrics_.inc("pisigner_sign_requests_total", {{"kind", r.kind}, {"result", r.outcome}});
  if (!r.error) metrics_.observe("pisigner_sign_duration_seconds", seconds, {{"kind", r.kind}});
  if (r.error) {
    switch (*r.error) {
      case SignErrc::WatermarkRefused: metrics_.inc("pisigner_watermark_refusals_total", {{"kind", r.kind}}); break;
      case SignErrc::PolicyRefused: metrics_.inc("pisigner_policy_refusals_total", {{"kind", r.kind}}); break;
      case SignErrc::AuthMissing:
      case SignErrc::AuthInvalid: metrics_.inc("pisigner_auth_failures_total"); break;
      default: break;
    }
  }
  // One line per request; never the payload or any secret. Formatting (base58) only when logged.
  if (!spdlog::should_log(spdlog::level::info)) return;
  const keys::KeyEntry* entry = keys_.find(r.pkh);
  const auto& wm = r.wm;
  spdlog::info("sign pkh={} kind={} chain={} level={} round={} result={} latency_us={}{}{}",
               entry ? keys_.pkh_text(*entry) : r.pkh.to_b58(), r.kind, wm ? chain_text(wm->chain) : "-",
               wm ? std::to_string(wm->level) : "-", wm && wm->round ? std::to_string(*wm->round) : "-", r.outcome,
               std::chrono::duration_cast<std::chrono::microseconds>(r.latency).count(), r.error ? " error=\"" : "",
               r.error ? r.error_message + "\"" : "");
}

}  // namespace pisigner::core
