// A signing key behind one interface, whatever holds the secret (Signatory's vault model).
// Backends: soft (in-process secret, testnets), ledger (Tezos Baking app over HID/TCP).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "pisigner/bytes.hpp"
#include "pisigner/crypto/hash.hpp"
#include "pisigner/result.hpp"
#include "pisigner/tezos/keys.hpp"

namespace pisigner::keys {

struct KeyError {
  enum class Code {
    Unavailable,  // device absent, locked, wrong app, hung: worth failing over
    Refused,      // the backend itself refused (device HWM, not a baking message)
    Internal,
  };
  Code code = Code::Internal;
  std::string message;
};

// A signature begun with Key::begin_sign(). finish() produces it; destroying it unfinished abandons
// it and nothing is signed.
class PendingSignature {
 public:
  virtual ~PendingSignature() = default;
  virtual Result<tezos::Signature, KeyError> finish() = 0;
};

// Thread-safe: sign() may be called concurrently (backends serialise internally where needed).
class Key {
 public:
  virtual ~Key() = default;
  virtual const tezos::PublicKeyHash& pkh() const = 0;
  // nullopt while not yet known (a Ledger key before its device has been seen).
  virtual std::optional<tezos::PublicKey> public_key() const = 0;
  // Signs the payload (magic byte included); `digest` is BLAKE2b-256(payload), computed once by the caller.
  virtual Result<tezos::Signature, KeyError> sign(ByteView payload, const crypto::Digest32& digest) = 0;
  // Starts a signature whose first steps sign nothing (a Ledger receives the derivation path), so
  // they overlap the caller's watermark fsync; the caller calls finish() once the watermark is
  // durable. `payload` must outlive the PendingSignature. Default: nothing starts early, finish()
  // calls sign().
  virtual std::unique_ptr<PendingSignature> begin_sign(ByteView payload, const crypto::Digest32& digest);
  // "soft" or "ledger".
  virtual std::string backend() const = 0;
  // True iff signing the same payload again gives the same signature (Ed25519, RFC 6979 ECDSA). The
  // watermark rule re-signs a slot whose signature was lost only for such keys. Default: false, so a
  // backend that has not proved it is never asked twice.
  virtual bool deterministic() const { return false; }
  // The key keeps a watermark of its own that every signature raises (a Ledger's Baking app): a
  // signature made and then not released would still use up that slot on the device.
  virtual bool keeps_own_watermark() const { return false; }
  // True iff the secret sits in a separate device (a Ledger on USB). A key in this process or in a
  // virtual or emulated device (tcp://) is software: mainnet needs the entry's allow_mainnet.
  virtual bool hardware() const { return false; }
};

}  // namespace pisigner::keys
