#include "pisigner/keys/ledger_key.hpp"

#include "pisigner/crypto/hd.hpp"

namespace pisigner::keys {

LedgerKey::LedgerKey(std::shared_ptr<ledger::DeviceWorker> worker, ledger::DerivationType curve, ledger::Path path,
                     tezos::PublicKeyHash pkh, std::chrono::milliseconds timeout, bool hardware)
    : worker_(std::move(worker)), curve_(curve), path_(std::move(path)), pkh_(pkh), timeout_(timeout),
      hardware_(hardware) {}

bool ledger_signs_deterministically(ledger::DerivationType d) {
  switch (d) {
    case ledger::DerivationType::Ed25519:
    case ledger::DerivationType::Bip32Ed25519:
    case ledger::DerivationType::Secp256k1:
    case ledger::DerivationType::P256:
      return true;
    case ledger::DerivationType::Bls12_381:
      return false;  // not supported by this signer: never re-signed
  }
  return false;
}

bool is_hardware_device(std::string_view spec) { return spec.rfind("tcp://", 0) != 0; }

crypto::Curve tezos_curve(ledger::DerivationType d) {
  switch (d) {
    case ledger::DerivationType::Secp256k1: return crypto::Curve::Secp256k1;
    case ledger::DerivationType::P256: return crypto::Curve::P256;
    case ledger::DerivationType::Bls12_381: return crypto::Curve::Bls12_381;
    default: return crypto::Curve::Ed25519;
  }
}

std::function<std::optional<std::string>(const Bytes&)> LedgerKey::identity_rule(ledger::DerivationType curve,
                                                                               const ledger::Path& path,
                                                                               const tezos::PublicKeyHash& pkh) {
  return [curve, path, pkh](const Bytes& raw) -> std::optional<std::string> {
    auto pk = tezos::PublicKey::from_raw(tezos_curve(curve), raw);
    if (!pk) return "Ledger returned an unusable public key: " + pk.error().message;
    if (pk->hash() == pkh) return std::nullopt;
    return "wrong Ledger: the key at " + crypto::format_path(path) + " is " + pk->hash().to_b58() + ", expected " +
           pkh.to_b58() + " (another seed, path or curve)";
  };
}

std::optional<tezos::PublicKey> LedgerKey::public_key() const {
  std::lock_guard lock(mu_);
  if (pk_) return pk_;
  auto st = worker_->state();
  if (!st.identity_ok || st.public_key.empty()) return std::nullopt;
  auto pk = tezos::PublicKey::from_raw(tezos_curve(curve_), st.public_key);
  if (!pk || pk->hash() != pkh_) return std::nullopt;
  pk_ = std::move(pk).value();
  return pk_;
}

// Holds the device (a lease) from begin to finish: the path goes out at once and the device reads it
// while the caller makes its watermark durable; the message only in finish(). The exchanges run on
// the calling thread, so no other thread is woken on the way.
class LedgerKey::Pending final : public PendingSignature {
 public:
  Pending(LedgerKey& key, ByteView payload) : key_(key), payload_(payload.begin(), payload.end()) {
    auto lease = key_.worker_->lease(key_.timeout_);
    if (!lease) {
      error_ = std::move(lease).error();
      return;
    }
    lease_.emplace(std::move(*lease));
    if (auto begun = lease_->app().sign_with_hash_begin(key_.curve_, key_.path_); !begun) {
      error_ = std::move(begun).error();
      lease_.reset();
    }
  }
  ~Pending() override {
    // Abandoned: read the path's reply so the device and the stream stay in step; nothing is signed.
    if (lease_) (void)lease_->app().sign_with_hash_abandon();
  }
  Pending(const Pending&) = delete;
  Pending& operator=(const Pending&) = delete;

  Result<tezos::Signature, KeyError> finish() override {
    Result<ledger::Signature, ledger::DeviceError> result =
        lease_ ? lease_->app().sign_with_hash_finish(key_.curve_, payload_) : fail(std::move(*error_));
    lease_.reset();  // the device is free before the signature is verified
    return key_.conclude(payload_, std::move(result));
  }

 private:
  LedgerKey& key_;
  const Bytes payload_;
  std::optional<ledger::DeviceWorker::Lease> lease_;  // set from a successful begin until finish
  std::optional<ledger::DeviceError> error_;           // why begin failed
};

std::unique_ptr<PendingSignature> LedgerKey::begin_sign(ByteView payload, const crypto::Digest32&) {
  return std::make_unique<Pending>(*this, payload);
}

Result<tezos::Signature, KeyError> LedgerKey::sign(ByteView payload, const crypto::Digest32& digest) {
  return begin_sign(payload, digest)->finish();
}

Result<tezos::Signature, KeyError> LedgerKey::conclude(ByteView payload,
                                                       Result<ledger::Signature, ledger::DeviceError> result) {
  if (!result) {
    using ledger::DeviceErrc;
    const auto& e = result.error();
    switch (e.code) {
      case DeviceErrc::HwmRefused:
      case DeviceErrc::NotBakingMessage:
      case DeviceErrc::NotAuthorized:
      case DeviceErrc::Rejected:
      case DeviceErrc::WrongLength:
        if (on_refused_) on_refused_();
        return fail(KeyError{KeyError::Code::Refused, "Ledger refused: " + e.message});
      default:
        if (on_unavailable_) on_unavailable_();
        return fail(KeyError{KeyError::Code::Unavailable, "Ledger unavailable: " + e.message});
    }
  }
  auto pk = public_key();
  if (!pk) return fail(KeyError{KeyError::Code::Unavailable, "Ledger key " + pkh_.to_b58() + " not verified yet"});
  tezos::Signature sig{pk->curve, result->bytes};
  // A device that returns a signature that doesn't verify is not trusted with the reply.
  if (!tezos::verify(*pk, payload, sig)) {
    return fail(KeyError{KeyError::Code::Internal, "Ledger returned a signature that does not verify under " +
                                                       pkh_.to_b58()});
  }
  if (on_success_) on_success_();
  return sig;
}


}  // namespace pisigner::keys
