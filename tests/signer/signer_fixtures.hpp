// Shared test support for the signing core (tests/signer, tests/http): published vectors, a counting
// fake key, a fault-injecting Store decorator and a fully wired Signer on the memory store.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pisigner/bytes.hpp"
#include "pisigner/clock.hpp"
#include "pisigner/core/signer.hpp"
#include "pisigner/hwm/store.hpp"
#include "pisigner/hwm/watermarks.hpp"
#include "pisigner/keys/registry.hpp"
#include "pisigner/keys/soft_key.hpp"
#include "pisigner/metrics/metrics.hpp"
#include "pisigner/policy/auth.hpp"
#include "pisigner/policy/policy.hpp"

namespace pisigner::test {

// reference/octez-signer.md §11 vector 1 (tezt/lib_tezos/account.ml).
inline constexpr std::string_view kB1Pkh = "tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx";
inline constexpr std::string_view kB1Pk = "edpkuBknW28nW72KG6RoHtYW7p12T6GKc7nAbwYX5m8Wd9sDVC9yav";
inline constexpr std::string_view kB1Sk = "edsk3gUfUPyBSfrS9CCgmCiQsTCHGkviBDusMxDJstFtojtc1zcpsh";
inline constexpr std::string_view kB2Pkh = "tz1gjaF81ZRRvdzjobyfVNsAeSC6PScjfQwN";
inline constexpr std::string_view kB2Pk = "edpktzNbDAUjUk697W7gYg2CRuBQjyPxbEg8dLccYYwKSKvkPvjtV9";
inline constexpr std::string_view kB2Sk = "edsk39qAm1fiMjgmPkw1EgQYkMzkJezLNewd7PLNHTkr6w9XA2zdfo";

// §11 vector 6 (Signatory request_test.go): chain NetXxkAx4woPLyu.
inline constexpr std::string_view kPreattestationHex =
    "12ed9d217c2f50673bab6b20dfb0a88ca93b4a0c72a34c807af5dffbece2cba3d2b509835f14006000000002000000041f1ebb39759cc957"
    "216f88fb4d005abc206fb00a53f8d57ac01be00c084cba97";  // level 2, round 4
inline constexpr std::string_view kAttestationHex =
    "13ed9d217cfc81eee810737b04018acef4db74d056b79edc43e6be46cae7e4c217c22a82f01500120000518d0000000003e7ea1f67dbb0bb"
    "6cfa372cb092cd9cf786b4f1b5e5139da95b915fb95e698d";  // level 20877, round 0
inline constexpr std::string_view kBlockHex =
    "11ed9d217c0000518e0118425847ac255b6d7c30ce8fec23b8eaf13b741de7d18509ac2ef83c741209630000000061947af504805682ea5d"
    "089837764b3efcc90b91db24294ff9ddb66019f332ccba17cc4741000000210000000102000000040000518e0000000000000004ffffffff"
    "0000000400000000eb1320a71e8bf8b0162a3ec315461e9153a38b70d00d5dde2df85eb92748f8d068d776e356683a9e23c186ccfb72ddc6"
    "c9857bb1704487972922e7c89a7121f800000000a8e1dd3c000000000000";  // level 20878, round 0
inline constexpr std::int32_t kAttestationLevel = 20877;
inline constexpr std::int32_t kBlockLevel = 20878;

// §11 vector 7.
inline constexpr std::string_view kB1AttestationSig =
    "edsigu3LFG1nPS2kyVXKmYDZkuaq9hsoGrjH5y3ir7C7ne9GMcFzVztvkaxGQjeqgSoJ43V1QpgwrLQUot3BbuJw3BGy92xurv9";
inline constexpr std::string_view kB1Sig03 =
    "edsigtzxo2Q7wFiEjausSp7pKUXLK9PnPqf8rHEKdc18HtNVbZSg5WJyFJwk14w7mykCsq3nV5iB6Eo4gTX3y8Dv8tkn1EadRj7";
inline constexpr std::string_view kAuth03ByB2 =
    "edsigtmZuw1QkALzKBKXq27nsTKxPYUFFs8q7N87ZPiPtmd73Nk4ejq4bTFGT22efyhFswwUMqRH125t1bu9h6nufdevkv82TM3";
inline constexpr std::string_view kAuthAttestationByB2 =
    "edsigtpuSrpMewNtxr8gyHz7D5AKTfmKoXtrVDidiEUdQv27YwmMuWKfHnvs1VdVVcNrV4bBuhS5TcNWZBM4KU8rpigprsYgHR3";

inline Bytes hex(std::string_view h) { return from_hex(h).value(); }

// Payload `base` with the 4 bytes at `offset` replaced by `value` (big-endian).
inline Bytes with_be32(Bytes base, std::size_t offset, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) base[offset + i] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
  return base;
}
// Attestation-layout payloads (tz1 offsets: level 40, round 44).
inline Bytes attestation(std::int32_t level, std::int32_t round, std::uint8_t last = 0x8d) {
  Bytes p = with_be32(with_be32(hex(kAttestationHex), 40, static_cast<std::uint32_t>(level)), 44,
                      static_cast<std::uint32_t>(round));
  p.back() = last;
  return p;
}

inline tezos::PublicKeyHash pkh(std::string_view b58) { return tezos::PublicKeyHash::parse(b58).value(); }
inline tezos::ChainId chain(std::string_view b58) { return tezos::ChainId::parse(b58).value(); }

inline std::unique_ptr<keys::SoftKey> soft_key(std::string_view sk) {
  return keys::SoftKey::load(std::string("unencrypted:") + std::string(sk), std::nullopt).value();
}

// Signs with a real SoftKey and counts calls; can block (slow device) or fail with a chosen code.
class CountingKey final : public keys::Key {
 public:
  explicit CountingKey(std::string_view sk) : inner_(soft_key(sk)) {}
  const tezos::PublicKeyHash& pkh() const override { return inner_->pkh(); }
  std::optional<tezos::PublicKey> public_key() const override { return inner_->public_key(); }
  std::string backend() const override { return backend_; }
  bool deterministic() const override { return deterministic_; }
  bool hardware() const override { return hardware_; }
  Result<tezos::Signature, keys::KeyError> sign(ByteView payload, const crypto::Digest32& digest) override {
    ++calls_;
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);  // a slow device, on purpose
    if (fail_) return pisigner::fail(keys::KeyError{*fail_, "device says no"});
    return inner_->sign(payload, digest);
  }

  // Logs "begin", then "finish" or "abandon", into `events` when set.
  std::unique_ptr<keys::PendingSignature> begin_sign(ByteView payload, const crypto::Digest32& digest) override {
    log("begin");
    class Pending final : public keys::PendingSignature {
     public:
      Pending(CountingKey& k, ByteView p, const crypto::Digest32& d) : k_(k), p_(p.begin(), p.end()), d_(d) {}
      ~Pending() override {
        if (!finished_) k_.log("abandon");
      }
      Result<tezos::Signature, keys::KeyError> finish() override {
        finished_ = true;
        k_.log("finish");
        return k_.sign(p_, d_);
      }

     private:
      CountingKey& k_;
      Bytes p_;
      crypto::Digest32 d_;
      bool finished_ = false;
    };
    return std::make_unique<Pending>(*this, payload, digest);
  }

  int calls() const { return calls_.load(); }
  std::vector<std::string>* events = nullptr;  // shared with the store in the Harness
  void set_delay(std::chrono::milliseconds d) { delay_ = d; }
  void set_failure(std::optional<keys::KeyError::Code> code) { fail_ = code; }
  // "ledger" also makes it a hardware key (a Ledger on USB).
  void set_backend(std::string b) {
    hardware_ = b == "ledger";
    backend_ = std::move(b);
  }
  void set_hardware(bool h) { hardware_ = h; }
  void set_deterministic(bool d) { deterministic_ = d; }

 private:
  std::unique_ptr<keys::SoftKey> inner_;
  std::atomic<int> calls_{0};
  std::chrono::milliseconds delay_{0};
  std::optional<keys::KeyError::Code> fail_;
  std::string backend_ = "soft";
  bool hardware_ = false;
  bool deterministic_ = true;  // it signs with a real (Ed25519) SoftKey
  void log(const char* e) {
    if (events) events->push_back(e);
  }
};

// Forwards to `inner`; operation number `fail_at` (1-based, counted over every call) fails, and
// put_durable fails always while `fail_durable` is set.
class FaultyStore final : public hwm::Store {
 public:
  explicit FaultyStore(hwm::Store& inner) : inner_(inner) {}

  Result<std::optional<hwm::Record>, hwm::StoreError> get(const hwm::HwmKey& key) override {
    if (trip("get")) return fail(err("get"));
    return inner_.get(key);
  }
  Result<void, hwm::StoreError> put_durable(const hwm::HwmKey& key, const hwm::Record& record) override {
    if (events) events->push_back("put_durable");
    if (trip("put_durable") || fail_durable) return fail(err("put_durable"));
    return inner_.put_durable(key, record);
  }
  Result<void, hwm::StoreError> put_signature(const hwm::HwmKey& key, const hwm::Record& record) override {
    if (trip("put_signature")) return fail(err("put_signature"));
    return inner_.put_signature(key, record);
  }
  Result<std::vector<std::pair<hwm::HwmKey, hwm::Record>>, hwm::StoreError> list() override { return inner_.list(); }
  Result<void, hwm::StoreError> probe_writable() override {
    if (trip("probe")) return fail(err("probe"));
    return inner_.probe_writable();
  }

  std::atomic<bool> fail_durable{false};
  std::vector<std::string>* events = nullptr;  // single-threaded tests only
  int fail_at = 0;  // 0: never
  int ops = 0;
  std::string failed_op;

 private:
  bool trip(const char* op) {
    std::lock_guard lock(mu_);
    if (++ops != fail_at) return false;
    failed_op = op;
    return true;
  }
  static hwm::StoreError err(const char* op) {
    return hwm::StoreError{hwm::StoreError::Code::Io, std::string("injected failure in ") + op};
  }
  hwm::Store& inner_;
  std::mutex mu_;
};

struct HarnessOptions {
  policy::PolicyConfig policy;
  bool auth_required = false;
  std::vector<std::string> authorized_keys;
  bool allow_mainnet = false;
};

// A Signer wired to bootstrap1 (as a CountingKey) over FaultyStore(memory store).
struct Harness {
  explicit Harness(HarnessOptions o = {})
      : memory(hwm::make_memory_store()),
        store(*memory),
        policy(o.policy),
        auth(policy::Authenticator::build(o.auth_required, o.authorized_keys).value()),
        watermarks(store) {
    auto k = std::make_unique<CountingKey>(kB1Sk);
    key = k.get();
    std::vector<keys::KeyEntry> entries;
    entries.push_back(keys::KeyEntry{std::move(k), o.allow_mainnet});
    registry = keys::Registry::build(std::move(entries)).value();
    signer = std::make_unique<core::Signer>(registry, policy, auth, watermarks, metrics, clock);
  }

  Result<core::SignResult, core::SignError> sign(ByteView payload, std::optional<std::string> authn = std::nullopt) {
    return signer->sign(core::SignRequest{pkh(kB1Pkh), Bytes(payload.begin(), payload.end()), std::move(authn)});
  }
  std::vector<std::pair<hwm::HwmKey, hwm::Record>> records() { return memory->list().value(); }

  std::unique_ptr<hwm::Store> memory;
  FaultyStore store;
  policy::Policy policy;
  policy::Authenticator auth;
  hwm::Watermarks watermarks;
  metrics::Registry metrics;
  ManualClock clock;
  keys::Registry registry;
  CountingKey* key = nullptr;
  std::unique_ptr<core::Signer> signer;
};

}  // namespace pisigner::test
