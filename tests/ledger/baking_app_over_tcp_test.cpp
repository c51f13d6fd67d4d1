// BakingApp and DeviceWorker over TcpTransport against the virtual Ledger (pisigner_vledger)
// on a loopback ephemeral port: the whole host stack on real sockets.
#include <gtest/gtest.h>

#include <thread>

#include "pisigner/crypto/hash.hpp"
#include "pisigner/crypto/hd.hpp"
#include "pisigner/crypto/signing.hpp"
#include "pisigner/ledger/baking_app.hpp"
#include "pisigner/ledger/device_worker.hpp"
#include "pisigner/ledger/emulator/control.hpp"
#include "pisigner/ledger/emulator/server.hpp"
#include "pisigner/ledger/tcp_transport.hpp"

namespace pisigner::ledger {
namespace {
using namespace std::chrono_literals;
namespace em = emulator;

const Path kPath{0x8000002C, 0x800006C1, 0x80000000, 0x80000000};
constexpr std::uint32_t kChain = 0x7a06a770;

Bytes attestation(std::uint32_t level, std::uint32_t round) {
  Bytes m{0x13};
  append_be32(m, kChain);
  m.resize(m.size() + 32, 0xAA);  // branch
  m.push_back(21);                // op tag
  m.push_back(0);
  m.push_back(1);                 // slot
  append_be32(m, level);
  append_be32(m, round);
  m.resize(m.size() + 32, 0xBB);  // block payload hash
  return m;
}

// The zebra-seed key as the crypto library derives it, independently of the device.
Bytes expected_key(crypto::Curve curve) {
  const auto seed = crypto::bip39_seed(em::kTestMnemonic);
  auto ext = crypto::derive_path(curve, seed, kPath);
  EXPECT_TRUE(ext);
  auto sk = crypto::SecretKey::from_bytes(curve, ext->key);
  EXPECT_TRUE(sk);
  return sk->public_key();
}

class VirtualLedger {
 public:
  VirtualLedger()
      : model_(em::Keyring::from_mnemonic(em::kTestMnemonic), em::AppState{}),
        controller_(model_, em::Faults{}, em::AppState{}, em::PromptAnswer::Approve) {
    em::ServerOptions opt;
    opt.apdu_port = 0;
    opt.control_enabled = false;
    auto s = em::Server::create(model_, controller_, opt, real_clock());
    EXPECT_TRUE(s);
    server_ = std::move(*s);
    thread_ = std::thread([this] { server_->run(); });
  }
  ~VirtualLedger() {
    server_->stop();
    thread_.join();
  }
  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(server_->apdu_port()); }

 private:
  em::BakingAppModel model_;
  em::Controller controller_;
  std::unique_ptr<em::Server> server_;
  std::thread thread_;
};

TEST(BakingAppOverTcp, SetupSignAndWatermarkForEachCurve) {
  VirtualLedger ledger;
  auto t = TcpTransport::connect(ledger.url(), 2s);
  ASSERT_TRUE(t) << t.error().message;
  BakingApp app(**t);

  auto v = app.version();
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->app_class, 1);

  struct Case {
    DerivationType dt;
    crypto::Curve curve;
  };
  std::uint32_t level = 100;
  for (const Case& c : {Case{DerivationType::Ed25519, crypto::Curve::Ed25519},
                        Case{DerivationType::Secp256k1, crypto::Curve::Secp256k1},
                        Case{DerivationType::P256, crypto::Curve::P256}}) {
    SCOPED_TRACE(std::string(crypto::curve_name(c.curve)));
    const Bytes want = expected_key(c.curve);
    auto pk = app.get_public_key(c.dt, kPath);
    ASSERT_TRUE(pk) << pk.error().message;
    EXPECT_EQ(pk->bytes, want);

    // Not yet authorized: the device refuses.
    auto refused = app.sign(c.dt, kPath, attestation(level + 1, 0));
    if (c.dt == DerivationType::Ed25519) {
      ASSERT_FALSE(refused);
      EXPECT_EQ(refused.error().code, DeviceErrc::NotAuthorized);
    }

    auto setup = app.setup(c.dt, kPath, kChain, level, 0);
    ASSERT_TRUE(setup) << setup.error().message;
    EXPECT_EQ(setup->bytes, want);
    auto auth = app.query_auth_key_with_curve();
    ASSERT_TRUE(auth && auth->has_value());
    EXPECT_EQ((*auth)->curve, c.dt);
    EXPECT_EQ((*auth)->path, kPath);

    const Bytes msg = attestation(level + 1, 0);
    auto sig = app.sign_with_hash(c.dt, kPath, msg);
    ASSERT_TRUE(sig) << sig.error().message;
    EXPECT_TRUE(crypto::verify_digest(c.curve, want, crypto::blake2b_256(msg), sig->bytes));

    auto again = app.sign(c.dt, kPath, msg);  // double attestation
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, DeviceErrc::HwmRefused);

    auto hwm = app.query_all_hwm();
    ASSERT_TRUE(hwm);
    EXPECT_EQ(hwm->main_level, level + 1);
    EXPECT_EQ(hwm->main_chain_id, kChain);
    level += 10;
  }

  auto tx = app.sign(DerivationType::P256, kPath, *from_hex("03" + std::string(100, '0')));
  ASSERT_FALSE(tx);
  EXPECT_TRUE(tx.error().code == DeviceErrc::NotBakingMessage || tx.error().code == DeviceErrc::NotAuthorized)
      << tx.error().message;
  EXPECT_TRUE(app.deauthorize());
  auto none = app.query_auth_key();
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST(BakingAppOverTcp, DeviceWorkerVerifiesIdentityOverTcp) {
  VirtualLedger ledger;
  const std::string url = ledger.url();
  DeviceWorkerConfig cfg;
  cfg.path = kPath;
  cfg.expected_public_key = expected_key(crypto::Curve::Ed25519);
  auto factory = [url]() -> Result<std::unique_ptr<Transport>, TransportError> {
    auto t = TcpTransport::connect(url, 1s);
    if (!t) return fail(std::move(t).error());
    return std::unique_ptr<Transport>(std::move(*t));
  };
  ManualClock clock;  // the reopen backoff is not exercised here: opens happen at construction
  auto timers = std::make_shared<PeriodicWorker>(clock);
  DeviceWorker w(cfg, factory, clock, timers);
  ASSERT_TRUE(w.wait_connected(3s)) << w.state().last_error;
  auto key = w.run([](BakingApp& app) { return app.get_public_key(DerivationType::Ed25519, kPath); }, 2s);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->bytes, *cfg.expected_public_key);
  EXPECT_TRUE(w.state().healthy());
  EXPECT_EQ(w.state().transport, url);

  DeviceWorkerConfig wrong = cfg;
  wrong.expected_public_key = expected_key(crypto::Curve::Ed25519);
  wrong.expected_public_key->back() ^= 1;
  DeviceWorker refused(wrong, factory, clock, timers);
  ASSERT_TRUE(refused.wait_until([](const DeviceState& s) { return s.next_retry.has_value(); }, 10s));
  EXPECT_FALSE(refused.wait_connected(0ms));
  EXPECT_NE(refused.state().last_error.find("wrong Ledger"), std::string::npos);
}

}  // namespace
}  // namespace pisigner::ledger
