// A key held by a Ledger running the Tezos Baking app. All APDUs go through the device's single
// worker; a sign waits at most `timeout` and a hung device fails the request, never the daemon.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "pisigner/keys/key.hpp"
#include "pisigner/ledger/device_worker.hpp"

namespace pisigner::keys {

// True iff the Baking app's signatures with this derivation type are deterministic.
bool ledger_signs_deterministically(ledger::DerivationType d);
// A device spec ("hid", a USB serial, "tcp://host:port") names a real Ledger unless it is tcp://
// (Speculos, pisigner-vledger: the key is software there).
bool is_hardware_device(std::string_view spec);

class LedgerKey final : public Key {
 public:
  // `pkh` is the configured address; the worker refuses a device whose key does not hash to it.
  // `hardware`: the device is a real Ledger (see is_hardware_device), not a virtual or emulated one.
  LedgerKey(std::shared_ptr<ledger::DeviceWorker> worker, ledger::DerivationType curve, ledger::Path path,
            tezos::PublicKeyHash pkh, std::chrono::milliseconds timeout, bool hardware);

  const tezos::PublicKeyHash& pkh() const override { return pkh_; }
  // Learned from the device once it has passed the identity check.
  std::optional<tezos::PublicKey> public_key() const override;
  // Device refusals (watermark, not a baking message, not authorized) are Refused; absent, locked,
  // wrong app, hung are Unavailable. The returned signature is verified against the device's key.
  Result<tezos::Signature, KeyError> sign(ByteView payload, const crypto::Digest32& digest) override;
  // Takes the device and sends the SIGN_WITH_HASH path at once: the device reads it while the caller
  // makes its watermark durable, and gets the message only in finish(). `timeout` bounds the wait
  // for the device and each exchange.
  std::unique_ptr<PendingSignature> begin_sign(ByteView payload, const crypto::Digest32& digest) override;
  std::string backend() const override { return "ledger"; }
  // The Baking app signs EdDSA, and ECDSA with CX_RND_RFC6979 (keys.c, sign()); BLS is not supported.
  bool deterministic() const override { return ledger_signs_deterministically(curve_); }
  bool keeps_own_watermark() const override { return true; }
  bool hardware() const override { return hardware_; }

  // Called after each successful device signature (a signature is proof the device is alive).
  void on_success(std::function<void()> fn) { on_success_ = std::move(fn); }
  // Called when the device refuses a signature (its watermark, not a baking message, not authorized).
  void on_refused(std::function<void()> fn) { on_refused_ = std::move(fn); }
  // Called when the device could not be used (absent, locked, hung): health need not wait for a probe.
  void on_unavailable(std::function<void()> fn) { on_unavailable_ = std::move(fn); }
  ledger::DeviceWorker& worker() { return *worker_; }
  ledger::DerivationType curve() const { return curve_; }
  const ledger::Path& path() const { return path_; }

  // The identity rule for the worker: the key at the path must hash to `pkh`.
  static std::function<std::optional<std::string>(const Bytes&)> identity_rule(ledger::DerivationType curve,
                                                                              const ledger::Path& path,
                                                                              const tezos::PublicKeyHash& pkh);

 private:
  class Pending;
  // The device's answer -> a verified signature or a KeyError, with the health hooks.
  Result<tezos::Signature, KeyError> conclude(ByteView payload, Result<ledger::Signature, ledger::DeviceError> result);

  std::shared_ptr<ledger::DeviceWorker> worker_;
  const ledger::DerivationType curve_;
  const ledger::Path path_;
  const tezos::PublicKeyHash pkh_;
  const std::chrono::milliseconds timeout_;
  const bool hardware_;
  std::function<void()> on_success_;
  std::function<void()> on_refused_;
  std::function<void()> on_unavailable_;
  mutable std::mutex mu_;
  mutable std::optional<tezos::PublicKey> pk_;  // guarded by mu_; set once, never changes
};

crypto::Curve tezos_curve(ledger::DerivationType d);

}  // namespace pisigner::keys
