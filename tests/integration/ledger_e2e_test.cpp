// End to end with a Ledger key: the real pisignerd + the real pisigner-vledger (the virtual Ledger),
// faults injected through the vledger's control socket.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "pisigner/tezos/keys.hpp"
#include "support/daemon.hpp"
#include "support/vledger.hpp"

using namespace pisigner::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* kPath = kLedgerPath;
const std::string kKeyPath = std::string("/keys/") + kZebraTz1;

std::string ledger_config(const std::filesystem::path& dir, int apdu_port, const char* pkh = kZebraTz1) {
  return "[server]\nlisten = [\"127.0.0.1:0\"]\nadmin_listen = [\"127.0.0.1:0\"]\n"
         "[store]\npath = \"" + (dir / "store").string() + "\"\n"
         "[health]\ninterval_ms = 200\nmax_age_ms = 1500\n"
         "[[key]]\nbackend = \"ledger\"\ndevice = \"tcp://127.0.0.1:" + std::to_string(apdu_port) + "\"\n"
         "path = \"" + kPath + "\"\ncurve = \"ed25519\"\npkh = \"" + pkh + "\"\ntimeout_ms = 1000\n";
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// Polls /authorized until it answers `status`, returns how long that took (or max on timeout).
std::chrono::milliseconds until_authorized(HttpClient& c, int status, std::chrono::milliseconds limit = 5s) {
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < limit) {
    if (c.get("/authorized").status == status) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    }
    std::this_thread::sleep_for(20ms);
  }
  return std::chrono::milliseconds::max();
}

bool verifies(HttpClient& c, const std::string& payload_hex, const std::string& sig_b58) {
  auto pk = pisigner::tezos::PublicKey::parse(json::parse(c.get(kKeyPath).body)["public_key"].get<std::string>());
  auto sig = pisigner::tezos::Signature::parse(sig_b58);
  auto bytes = pisigner::from_hex(payload_hex);
  return pk && sig && bytes && pisigner::tezos::verify(*pk, *bytes, *sig);
}

// Waits until /metrics has `line` (a whole sample line); the last /metrics body either way.
std::string until_metric(HttpClient& c, const std::string& line, std::chrono::milliseconds limit = 5s) {
  const auto start = std::chrono::steady_clock::now();
  std::string body;
  do {
    body = c.get("/metrics").body;
    if (body.find("\n" + line + "\n") != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  } while (std::chrono::steady_clock::now() - start < limit);
  return body;
}

std::string hwm_state(const std::string& state, int value) {
  return std::string("pisigner_ledger_hwm_state{key=\"") + kZebraTz1 + "\",state=\"" + state + "\"} " +
         std::to_string(value);
}
std::string hwm_gap(long long gap) {
  return std::string("pisigner_ledger_hwm_level_gap{key=\"") + kZebraTz1 + "\"} " + std::to_string(gap);
}

}  // namespace

TEST(LedgerE2E, SignsBakingMessagesWithTheDevice) {
  Vledger v;
  TempDir dir("ledger-sign");
  Daemon d(dir.path(), ledger_config(dir.path(), v.apdu_port()));
  auto c = d.client();
  ASSERT_LT(until_authorized(c, 200), 5s) << c.get("/authorized").body;
  for (const auto& payload : {block_hex(5, 0), preattestation_hex(5, 0), attestation_hex(5, 0)}) {
    auto r = c.post(kKeyPath, quoted(payload));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(verifies(c, payload, json::parse(r.body)["signature"])) << payload.substr(0, 2);
  }
  // The device watermark check is information: consistent after these signatures.
  auto authz = json::parse(c.get("/authorized").body);
  bool seen = false;
  for (const auto& ch : authz["checks"]) {
    if (ch["name"] == std::string("ledger_hwm ") + kZebraTz1) {
      seen = true;
      EXPECT_FALSE(ch["required"].get<bool>());
    }
  }
  EXPECT_TRUE(seen) << authz.dump();
  // Device and store both at level 5: in step, nothing between them.
  auto metrics = until_metric(c, hwm_state("in_step", 1));
  EXPECT_NE(metrics.find("\n" + hwm_state("in_step", 1) + "\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\n" + hwm_state("device_behind", 0) + "\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\n" + hwm_gap(0) + "\n"), std::string::npos) << metrics;
  // The daemon's store refuses first; the device would too.
  auto lower = c.post(kKeyPath, quoted(attestation_hex(4, 0)));
  EXPECT_EQ(lower.status, 500);
  EXPECT_NE(lower.body.find("below high watermark"), std::string::npos);
}

// A tcp:// device (pisigner-vledger, Speculos) holds its key in software: like a soft key it refuses
// mainnet unless the key sets allow_mainnet (it used to count as hardware).
TEST(LedgerE2E, TcpDeviceNeedsAllowMainnet) {
  const std::string mainnet = attestation_hex(7, 0).replace(2, 8, "7a06a770");  // chain NetXdQprcVkpaWU
  for (bool allow : {false, true}) {
    SCOPED_TRACE(allow ? "allow_mainnet = true" : "default");
    Vledger v;
    TempDir dir("ledger-mainnet");
    Daemon d(dir.path(), ledger_config(dir.path(), v.apdu_port()) + (allow ? "allow_mainnet = true\n" : ""));
    auto c = d.client();
    ASSERT_LT(until_authorized(c, 200), 5s) << c.get("/authorized").body;
    auto r = c.post(kKeyPath, quoted(mainnet));
    if (allow) {
      EXPECT_EQ(r.status, 200) << r.body;
    } else {
      EXPECT_EQ(r.status, 500);
      EXPECT_NE(r.body.find("allow_mainnet"), std::string::npos) << r.body;
    }
  }
}

// A device state that makes every APDU fail at once: the sign fails fast, /authorized turns red
// within a second naming the cause, and clearing the fault recovers without a restart.
struct DeviceFault {
  const char* control;   // vledger control command
  const char* reported;  // what /authorized must say
};

class LedgerFault : public ::testing::TestWithParam<DeviceFault> {};

TEST_P(LedgerFault, FailsFastTurnsRedAndRecovers) {
  Vledger v;
  TempDir dir(std::string("ledger-") + GetParam().control);
  Daemon d(dir.path(), ledger_config(dir.path(), v.apdu_port()));
  auto c = d.client();
  ASSERT_LT(until_authorized(c, 200), 5s);
  v.ctl(GetParam().control, "on");
  auto start = std::chrono::steady_clock::now();
  EXPECT_NE(c.post(kKeyPath, quoted(attestation_hex(10, 0))).status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  EXPECT_LT(until_authorized(c, 503, 2s), 1000ms);
  EXPECT_NE(c.get("/authorized").body.find(GetParam().reported), std::string::npos) << c.get("/authorized").body;
  v.ctl(GetParam().control, "off");
  ASSERT_LT(until_authorized(c, 200), 5s);
  EXPECT_EQ(c.post(kKeyPath, quoted(attestation_hex(11, 0))).status, 200);
}

INSTANTIATE_TEST_SUITE_P(LedgerE2E, LedgerFault,
                         ::testing::Values(DeviceFault{"locked", "locked"}, DeviceFault{"app_closed", "app is not open"}),
                         [](const auto& info) { return std::string(info.param.control); });

TEST(LedgerE2E, HungDeviceFailsWithinTimeoutAndHealthStillAnswers) {
  Vledger v;
  TempDir dir("ledger-hang");
  Daemon d(dir.path(), ledger_config(dir.path(), v.apdu_port()));
  auto c = d.client();
  ASSERT_LT(until_authorized(c, 200), 5s);
  v.ctl("hang", "on");
  std::thread signer([&] {
    auto c2 = d.client();
    auto start = std::chrono::steady_clock::now();
    auto r = c2.post(kKeyPath, quoted(attestation_hex(20, 0)));
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2000ms);  // timeout_ms = 1000
  });
  std::this_thread::sleep_for(100ms);
  // While the sign waits on the hung device, /authorized answers from its snapshot.
  for (int i = 0; i < 20; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto r = c.get("/authorized");
    EXPECT_NE(r.status, 0);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 100ms * kSanitizerSlowdown);
    std::this_thread::sleep_for(20ms);
  }
  signer.join();
  EXPECT_LT(until_authorized(c, 503, 2s), 1000ms);
  v.ctl("hang", "off");
  ASSERT_LT(until_authorized(c, 200), 8s) << c.get("/authorized").body;
  // Same payload again after the failure: byte-identical, so it may be signed now.
  EXPECT_EQ(c.post(kKeyPath, quoted(attestation_hex(20, 0))).status, 200);
}

TEST(LedgerE2E, UnplugAndReplugRecoverWithoutRestart) {
  Vledger v;
  TempDir dir("ledger-unplug");
  Daemon d(dir.path(), ledger_config(dir.path(), v.apdu_port()));
  auto c = d.client();
  ASSERT_LT(until_authorized(c, 200), 5s);
  v.ctl("disconnect");
  EXPECT_NE(c.post(kKeyPath, quoted(attestation_hex(30, 0))).status, 200);
  EXPECT_LT(until_authorized(c, 503, 2s), 1000ms);
  v.ctl("reconnect");
  auto took = until_authorized(c, 200, 8s);
  EXPECT_LT(took, 2000ms) << "replug to /authorized 200";
  EXPECT_EQ(c.post(kKeyPath, quoted(attestation_hex(31, 0))).status, 200);
  EXPECT_TRUE(d.process().running());
}

TEST(LedgerE2E, WrongDeviceIsRefused) {
  // Same path, another seed: its key is not the configured tz1.
  Vledger v({"--mnemonic", "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"});
  TempDir dir("ledger-wrong");
  Daemon d(dir.path(), ledger_config(dir.path(), v.apdu_port()));
  auto c = d.client();
  std::this_thread::sleep_for(1s);
  auto a = c.get("/authorized");
  EXPECT_EQ(a.status, 503);
  EXPECT_NE(a.body.find("wrong Ledger"), std::string::npos) << a.body;
  EXPECT_NE(c.post(kKeyPath, quoted(attestation_hex(5, 0))).status, 200);
  // The request's log line follows its reply.
  const auto until = std::chrono::steady_clock::now() + 2s;
  while (d.log().find("wrong Ledger") == std::string::npos && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_NE(d.log().find("wrong Ledger"), std::string::npos) << d.log();
}

TEST(LedgerE2E, PisignerctlLedgerGoesThroughTheDaemon) {
  Vledger v;
  TempDir dir("ledger-ctl");
  Daemon d(dir.path(), ledger_config(dir.path(), v.apdu_port()));
  auto c = d.client();
  ASSERT_LT(until_authorized(c, 200), 5s);
  ASSERT_NE(d.admin_port(), 0);
  const std::string admin = "http://127.0.0.1:" + std::to_string(d.admin_port());
  auto [rc, out] = run_command({pisignerctl_path(), "ledger", "--admin-url", admin, "info"});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Tezos Baking 2.5.1"), std::string::npos) << out;
  EXPECT_NE(out.find("m/44'/1729'/0'/0'"), std::string::npos) << out;
  // Deauthorize: the device then refuses to bake and health says why; authorize brings it back.
  auto [rc2, out2] = run_command({pisignerctl_path(), "ledger", "--admin-url", admin, "deauthorize", "--pkh", kZebraTz1});
  EXPECT_EQ(rc2, 0) << out2;
  EXPECT_LT(until_authorized(c, 503, 3s), 2000ms);
  EXPECT_NE(c.get("/authorized").body.find("not authorized"), std::string::npos);
  auto [rc3, out3] = run_command({pisignerctl_path(), "ledger", "--admin-url", admin, "authorize", "--pkh", kZebraTz1});
  EXPECT_EQ(rc3, 0) << out3;
  EXPECT_LT(until_authorized(c, 200, 3s), 2000ms);
  // The admin API is not on the public listener.
  EXPECT_EQ(c.get("/ledger").status, 404);
}

TEST(LedgerE2E, DeviceWatermarkAheadOfTheStoreIsReportedAndRefusalsCounted) {
  Vledger v({"--hwm", "1000"});
  TempDir dir("ledger-hwm-ahead");
  Daemon d(dir.path(), ledger_config(dir.path(), v.apdu_port()));
  auto c = d.client();
  ASSERT_LT(until_authorized(c, 200), 5s);
  auto r = c.post(kKeyPath, quoted(attestation_hex(5, 0)));
  EXPECT_EQ(r.status, 500) << r.body;  // the device refuses: final, not a failover case
  EXPECT_NE(r.body.find("Ledger refused"), std::string::npos) << r.body;
  EXPECT_NE(c.get("/metrics").body.find("pisigner_ledger_refusals_total{device="), std::string::npos);
  std::string detail;
  for (int i = 0; i < 50 && detail.find("above the store") == std::string::npos; ++i) {
    std::this_thread::sleep_for(50ms);
    const json authz = json::parse(c.get("/authorized").body);
    for (const auto& ch : authz["checks"]) {
      if (ch["name"] == std::string("ledger_hwm ") + kZebraTz1) detail = ch["detail"].get<std::string>();
    }
  }
  EXPECT_NE(detail.find("device main level 1000 is above the store's 5"), std::string::npos) << detail << c.get("/authorized").body;
  EXPECT_EQ(c.get("/authorized").status, 200);  // information only
  // The health gauge says 1 for this warning as for ok; the watermark gauges tell them apart.
  auto metrics = until_metric(c, hwm_state("device_ahead", 1));
  EXPECT_NE(metrics.find("\n" + hwm_state("device_ahead", 1) + "\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\n" + hwm_state("in_step", 0) + "\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\n" + hwm_gap(-995) + "\n"), std::string::npos) << metrics;
}

// A store that knows levels the device never signed (a reset or replaced Ledger, an imported store):
// the device alone would no longer stop them. Information on /authorized, device_behind in the gauge.
TEST(LedgerE2E, DeviceWatermarkBehindTheStoreShowsInTheMetric) {
  Vledger v;  // a fresh device: main level 0
  TempDir dir("ledger-hwm-behind");
  const std::string store = (dir.path() / "store").string();
  auto [rc_init, out_init] = run_command({pisignerctl_path(), "hwm", "--store", store, "init"});
  ASSERT_EQ(rc_init, 0) << out_init;
  auto [rc_set, out_set] = run_command({pisignerctl_path(), "hwm", "--store", store, "set", "--kind", "attestation",
                                        "--chain", "NetXxkAx4woPLyu", "--pkh", kZebraTz1, "--level", "500",
                                        "--round", "0", "--yes"});
  ASSERT_EQ(rc_set, 0) << out_set;
  Daemon d(dir.path(), ledger_config(dir.path(), v.apdu_port()));
  auto c = d.client();
  ASSERT_LT(until_authorized(c, 200), 5s) << c.get("/authorized").body;
  auto metrics = until_metric(c, hwm_state("device_behind", 1));
  EXPECT_NE(metrics.find("\n" + hwm_state("device_behind", 1) + "\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\n" + hwm_state("in_step", 0) + "\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\n" + hwm_gap(500) + "\n"), std::string::npos) << metrics;
  EXPECT_NE(c.get("/authorized").body.find("is below the store's 500"), std::string::npos) << c.get("/authorized").body;
  EXPECT_EQ(c.get("/authorized").status, 200);  // information only: the store still refuses those levels
  EXPECT_EQ(c.post(kKeyPath, quoted(attestation_hex(400, 0))).status, 500);
}

// Guards a crash: the admin API echoed the request path into its JSON reply, and a path that is
// not UTF-8 made the JSON encoder throw on the handler thread, which aborted pisignerd.
TEST(LedgerE2E, AdminPathThatIsNotUtf8IsAnsweredAndTheDaemonKeepsServing) {
  Vledger v;
  TempDir dir("ledger-admin-utf8");
  Daemon d(dir.path(), ledger_config(dir.path(), v.apdu_port()));
  auto c = d.client();
  ASSERT_LT(until_authorized(c, 200), 5s);
  ASSERT_NE(d.admin_port(), 0);
  HttpClient admin(d.admin_port());
  for (const char* target : {"/ledger/\xff", "/ledger/\xc3("}) {
    auto r = admin.get(target);
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_FALSE(json::parse(r.body, nullptr, false).is_discarded()) << r.body;
  }
  auto bad_pkh = admin.post("/ledger/authorize", "{\"pkh\":\"tz1\\u00ff\"}");
  EXPECT_EQ(bad_pkh.status, 400) << bad_pkh.body;
  // Both listeners still answer, and the device still signs.
  EXPECT_EQ(admin.get("/ledger").status, 200);
  EXPECT_EQ(c.get("/healthz").status, 200);
  EXPECT_EQ(c.post(kKeyPath, quoted(attestation_hex(5, 0))).status, 200);
}
