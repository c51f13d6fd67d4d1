#include "pisigner/keys/ledger_key.hpp"

#include <future>

#include "pisigner/crypto/hd.hpp"

namespace pisigner::keys {

LedgerKey::LedgerKey(std::shared_ptr<ledger::DeviceWorker> worker, ledger::DerivationType curve, ledger::Path path,
                     tezos::PublicKeyHash pkh, std::chrono::milliseconds timeout)
    : worker_(std::move(worker)), curve_(curve), path_(std::move(path)), pkh_(pkh), timeout_(timeout) {}

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

// The device job waits between its two exchanges on `gate`: true once the watermark is durable,
// false when the caller abandons the signature (then the message is never sent).
class LedgerKey::Pending final : public PendingSignature {
 public:
  Pending(LedgerKey& key, ByteView payload)
      : key_(key),
        payload_(payload.begin(), payload.end()),
        job_(key.worker_->submit([curve = key.curve_, path = key.path_, message = payload_,
                                  durable = gate_->get_future().share()](ledger::BakingApp& app) {
          return app.sign_with_hash(curve, path, message, [&] { return durable.get(); });
        })) {}
  ~Pending() override {
    if (!finished_) gate_->set_value(false);
  }
  Pending(const Pending&) = delete;
  Pending& operator=(const Pending&) = delete;

  Result<tezos::Signature, KeyError> finish() override {
    finished_ = true;
    gate_->set_value(true);
    return key_.conclude(payload_, job_.wait(key_.timeout_));
  }

 private:
  LedgerKey& key_;
  const Bytes payload_;
  const std::shared_ptr<std::promise<bool>> gate_ = std::make_shared<std::promise<bool>>();  // before job_
  ledger::DeviceWorker::Pending<Result<ledger::Signature, ledger::DeviceError>> job_;
  bool finished_ = false;
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

Result<ledger::DerivationType, KeyError> parse_ledger_curve(const std::string& name) {
  if (name == "ed25519") return ledger::DerivationType::Ed25519;
  if (name == "secp256k1") return ledger::DerivationType::Secp256k1;
  if (name == "p256") return ledger::DerivationType::P256;
  return fail(KeyError{KeyError::Code::Internal, "unknown curve '" + name + "'"});
}

}  // namespace pisigner::keys
