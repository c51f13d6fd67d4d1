// The identical re-sign rule with a Ledger P-256 key: the signer's watermark is durable but its
// signature was lost (crash), and the device signs again (its own watermark reset, or the standby
// Pi's Ledger with the same seed). The Baking app signs ECDSA with RFC 6979 nonces (keys.c, sign():
// CX_RND_RFC6979), so the retry must give the byte-identical signature, as pisigner-vledger models.
#include <gtest/gtest.h>

#include <thread>

#include "pisigner/core/signer.hpp"
#include "pisigner/hwm/watermarks.hpp"
#include "pisigner/keys/ledger_key.hpp"
#include "pisigner/keys/registry.hpp"
#include "pisigner/ledger/baking_app.hpp"
#include "pisigner/ledger/device_worker.hpp"
#include "pisigner/ledger/emulator/control.hpp"
#include "pisigner/ledger/emulator/server.hpp"
#include "pisigner/ledger/tcp_transport.hpp"
#include "pisigner/policy/auth.hpp"
#include "pisigner/policy/policy.hpp"

namespace pisigner {
namespace {
using namespace std::chrono_literals;
namespace em = ledger::emulator;

const ledger::Path kPath{0x8000002C, 0x800006C1, 0x80000000, 0x80000000};
constexpr std::uint32_t kChain = 0x7a06a770;  // NetXdQprcVkpaWU

Bytes attestation(std::uint32_t level) {
  Bytes m{0x13};
  append_be32(m, kChain);
  m.resize(m.size() + 32, 0xAA);  // branch
  m.push_back(21);                // op tag
  m.push_back(0);
  m.push_back(1);  // slot
  append_be32(m, level);
  append_be32(m, 0);      // round
  m.resize(m.size() + 32, 0xBB);  // block payload hash
  return m;
}

class VirtualLedger {
 public:
  VirtualLedger()
      : model_(em::Keyring::from_mnemonic(em::kTestMnemonic), em::AppState{}),
        controller_(model_, em::Faults{}, em::AppState{}, em::PromptAnswer::Approve) {
    em::ServerOptions opt;
    opt.apdu_port = 0;
    opt.control_enabled = false;
    server_ = std::move(em::Server::create(model_, controller_, opt, real_clock()).value());
    thread_ = std::thread([this] { server_->run(); });
  }
  ~VirtualLedger() {
    server_->stop();
    thread_.join();
  }
  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(server_->apdu_port()); }
  // AUTHORIZE/SETUP the P-256 key with the device watermark at `level` (a reset device, or a fresh one).
  tezos::PublicKeyHash setup(std::uint32_t level) {
    auto t = ledger::TcpTransport::connect(url(), 2s);
    EXPECT_TRUE(t);
    ledger::BakingApp app(**t);
    auto pk = app.setup(ledger::DerivationType::P256, kPath, kChain, level, 0);
    EXPECT_TRUE(pk) << pk.error().message;
    return tezos::PublicKey::from_raw(crypto::Curve::P256, pk->bytes).value().hash();
  }

 private:
  em::BakingAppModel model_;
  em::Controller controller_;
  std::unique_ptr<em::Server> server_;
  std::thread thread_;
};

TEST(LedgerResign, P256LostSignatureIsSignedAgainToTheIdenticalBytes) {
  VirtualLedger device;
  const tezos::PublicKeyHash pkh = device.setup(100);
  ledger::DeviceWorkerConfig wc;
  wc.curve = ledger::DerivationType::P256;
  wc.path = kPath;
  wc.identity_check = keys::LedgerKey::identity_rule(wc.curve, kPath, pkh);
  const std::string url = device.url();
  auto timers = std::make_shared<PeriodicWorker>(real_clock());  // the daemon's reopen timing
  timers->start();
  auto worker = std::make_shared<ledger::DeviceWorker>(
      wc,
      [url]() -> Result<std::unique_ptr<ledger::Transport>, ledger::TransportError> {
        auto t = ledger::TcpTransport::connect(url, 1s);
        if (!t) return fail(std::move(t).error());
        return std::unique_ptr<ledger::Transport>(std::move(*t));
      },
      real_clock(), timers);
  ASSERT_TRUE(worker->wait_connected(5s)) << worker->state().last_error;

  auto store = hwm::make_memory_store();
  hwm::Watermarks watermarks(*store);
  policy::Policy policy{policy::PolicyConfig{}};
  auto auth = policy::Authenticator::build(false, {}).value();
  metrics::Registry metrics;
  ManualClock clock;
  std::vector<keys::KeyEntry> entries;
  // A tcp:// device is a software key: mainnet (this payload's chain) needs allow_mainnet.
  entries.push_back(keys::KeyEntry{std::make_unique<keys::LedgerKey>(worker, wc.curve, kPath, pkh, 3000ms, false), true});
  auto registry = keys::Registry::build(std::move(entries)).value();
  core::Signer signer(registry, policy, auth, watermarks, metrics, clock);

  const Bytes payload = attestation(101);
  auto first = signer.sign(core::SignRequest{pkh, payload, std::nullopt});
  ASSERT_TRUE(first) << first.error().message;

  // The crash: the watermark's commit reached disk, the signature's did not.
  const auto records = store->list().value();
  for (auto [k, r] : records) {
    r.signature.reset();
    ASSERT_TRUE(store->put_durable(k, r).ok());
  }
  // The same device refuses a second attestation at that level on its own...
  auto refused = signer.sign(core::SignRequest{pkh, payload, std::nullopt});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, core::SignErrc::BackendRefused);
  // ...and once its watermark is back below (a reset, or the standby Ledger), it signs the same bytes.
  auto reset = worker->run(
      [](ledger::BakingApp& app) { return app.setup(ledger::DerivationType::P256, kPath, kChain, 100, 0); }, 3s);
  ASSERT_TRUE(reset) << reset.error().message;
  auto again = signer.sign(core::SignRequest{pkh, payload, std::nullopt});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->cached);
  EXPECT_EQ(again->signature, first->signature);
}

}  // namespace
}  // namespace pisigner
