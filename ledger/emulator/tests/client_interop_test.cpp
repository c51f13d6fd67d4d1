// The project's own Baking app client (ledger/: TcpTransport + BakingApp) against the
// virtual Ledger: the two sides were written from the same reference, so this catches a
// misreading on either side.
#include <gtest/gtest.h>

#include <thread>

#include "pisigner/crypto/signing.hpp"
#include "pisigner/ledger/baking_app.hpp"
#include "pisigner/ledger/device_error.hpp"
#include "pisigner/ledger/emulator/server.hpp"
#include "pisigner/ledger/tcp_transport.hpp"
#include "test_util.hpp"

using namespace pisigner;
using namespace pisigner::ledger;
using namespace pisigner::ledger::emulator;
using namespace vledger_test;
using namespace std::chrono_literals;

namespace {

class ClientInterop : public ::testing::Test {
 protected:
  ClientInterop()
      : model(Keyring::from_mnemonic(kTestMnemonic), AppState{}),
        controller(model, Faults{}, AppState{}, PromptAnswer::Approve) {
    ServerOptions o;
    o.apdu_port = 0;
    o.control_enabled = false;
    auto s = Server::create(model, controller, o, real_clock());
    EXPECT_TRUE(s.ok());
    server = std::move(*s);
    thread = std::thread([this] { server->run(); });
    auto t = TcpTransport::connect(TcpEndpoint{"127.0.0.1", server->apdu_port()}, 2000ms);
    EXPECT_TRUE(t.ok());
    transport = std::move(*t);
    app.emplace(*transport);
  }
  ~ClientInterop() override {
    app.reset();
    transport.reset();
    server->stop();
    thread.join();
  }
  BakingAppModel model;
  Controller controller;
  std::unique_ptr<Server> server;
  std::thread thread;
  std::unique_ptr<TcpTransport> transport;
  std::optional<BakingApp> app;
};

}  // namespace

TEST_F(ClientInterop, VersionAndGit) {
  auto v = app->version();
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->app_class, 1);
  EXPECT_EQ(v->to_string(), "2.5.1");
  auto g = app->git();
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(*g, "50ec8cfc");
}

TEST_F(ClientInterop, SetupThenSignEveryCurve) {
  for (auto curve : {DerivationType::Ed25519, DerivationType::Secp256k1, DerivationType::P256}) {
    SCOPED_TRACE(static_cast<int>(curve));
    auto pk = app->setup(curve, kTezosPath, kMainnet, 100, 0);
    ASSERT_TRUE(pk.ok()) << pk.error().message;
    const Bytes msg = block(kMainnet, 101, 0);
    auto sig = app->sign_with_hash(curve, kTezosPath, msg);
    ASSERT_TRUE(sig.ok()) << sig.error().message;
    crypto::Signature64 rs{};
    ASSERT_EQ(sig->bytes.size(), 64u);
    std::copy(sig->bytes.begin(), sig->bytes.end(), rs.begin());
    EXPECT_TRUE(crypto::verify_digest(static_cast<crypto::Curve>(curve), pk->bytes, crypto::blake2b_256(msg), rs));
    auto again = app->sign(curve, kTezosPath, msg);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, DeviceErrc::HwmRefused);
  }
  auto hwm = app->query_all_hwm();
  ASSERT_TRUE(hwm.ok());
  EXPECT_EQ(hwm->main_level, 101u);
  EXPECT_EQ(hwm->main_round, 0u);
  EXPECT_EQ(hwm->main_chain_id, kMainnet);
  auto key = app->query_auth_key_with_curve();
  ASSERT_TRUE(key.ok() && key->has_value());
  EXPECT_EQ((*key)->path, kTezosPath);
  EXPECT_EQ((*key)->curve, DerivationType::P256);
}

TEST_F(ClientInterop, RefusalsMapToTypedErrors) {
  auto unauthorized = app->sign_with_hash(DerivationType::Ed25519, kTezosPath, block(kMainnet, 5, 0));
  ASSERT_FALSE(unauthorized.ok());
  EXPECT_EQ(unauthorized.error().code, DeviceErrc::NotAuthorized);
  ASSERT_TRUE(app->setup(DerivationType::Ed25519, kTezosPath, kMainnet, 0, 0).ok());
  auto transfer = app->sign_with_hash(DerivationType::Ed25519, kTezosPath, Bytes{0x03, 0x01, 0x02});
  ASSERT_FALSE(transfer.ok());
  EXPECT_EQ(transfer.error().code, DeviceErrc::NotBakingMessage);
  ASSERT_TRUE(app->deauthorize().ok());
  auto none = app->query_auth_key();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}
