// The real pisignerd binary, driven over loopback HTTP like octez-client would drive it.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>
#include <nlohmann/json.hpp>

#include "support/daemon.hpp"

using namespace pisigner::testing;
using nlohmann::json;

namespace {
const std::string kAttestation =
    "13ed9d217cfc81eee810737b04018acef4db74d056b79edc43e6be46cae7e4c217c22a82f01500120000518d0000000003e7ea1f67dbb0bb6cfa"
    "372cb092cd9cf786b4f1b5e5139da95b915fb95e698d";
const std::string kAttestationSig =
    "edsigu3LFG1nPS2kyVXKmYDZkuaq9hsoGrjH5y3ir7C7ne9GMcFzVztvkaxGQjeqgSoJ43V1QpgwrLQUot3BbuJw3BGy92xurv9";
const std::string kKeyPath = std::string("/keys/") + kBootstrap1Pkh;

std::string quoted(const std::string& hex) { return "\"" + hex + "\""; }

double signed_ok(HttpClient& c) {
  auto m = c.get("/metrics").body;
  double total = 0;
  std::istringstream in(m);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("pisigner_sign_requests_total{", 0) == 0 &&
        (line.find("result=\"ok\"") != std::string::npos || line.find("result=\"cached\"") != std::string::npos)) {
      total += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return total;
}
}  // namespace

TEST(Daemon, ServesTheOctezRemoteSignerApi) {
  TempDir dir("api");
  Daemon d(dir.path(), basic_config(dir.path()));
  auto c = d.client();
  auto pk = c.get(kKeyPath);
  EXPECT_EQ(pk.status, 200);
  EXPECT_EQ(json::parse(pk.body)["public_key"], "edpkuBknW28nW72KG6RoHtYW7p12T6GKc7nAbwYX5m8Wd9sDVC9yav");
  EXPECT_EQ(c.get("/keys/tz1gjaF81ZRRvdzjobyfVNsAeSC6PScjfQwN").status, 404);
  auto ak = c.get("/authorized_keys");
  EXPECT_EQ(ak.status, 200);
  EXPECT_EQ(ak.body, "{}");
  // octez-client always appends ?version=N.
  auto sig = c.post(kKeyPath + "?version=2", quoted(kAttestation));
  ASSERT_EQ(sig.status, 200) << sig.body;
  EXPECT_EQ(json::parse(sig.body)["signature"], kAttestationSig);
  EXPECT_EQ(c.get("/healthz").status, 200);
  auto authz = c.get("/authorized");
  EXPECT_EQ(authz.status, 200) << authz.body;
  EXPECT_TRUE(json::parse(authz.body)["authorized"].get<bool>());
  EXPECT_NE(c.get("/metrics").body.find("pisigner_sign_duration_seconds_bucket"), std::string::npos);
  EXPECT_EQ(d.stop(), 0);
}

// The listener's connection figures are on /metrics: the scrape's own connection is open.
TEST(Daemon, MetricsShowTheListenersConnections) {
  TempDir dir("conns");
  Daemon d(dir.path(), basic_config(dir.path()));
  auto c = d.client();
  const std::string m = c.get("/metrics").body;
  auto value = [&](const std::string& prefix) {
    const auto at = m.find(prefix);
    if (at == std::string::npos) return -1.0;
    const auto end = m.find('\n', at);
    return std::stod(m.substr(at + prefix.size(), end - at - prefix.size()));
  };
  EXPECT_GE(value("pisigner_http_open_connections{listener=\"signing\"} "), 1.0) << m;
  EXPECT_EQ(value("pisigner_http_accept_errors{listener=\"signing\"} "), 0.0);
  EXPECT_EQ(value("pisigner_http_evicted_connections{listener=\"signing\"} "), 0.0);
  EXPECT_EQ(value("pisigner_http_room_deferrals{listener=\"signing\"} "), 0.0);
  EXPECT_EQ(value("pisigner_http_handler_errors{listener=\"signing\"} "), 0.0);
  EXPECT_EQ(value("pisigner_http_open_connections{listener=\"admin\"} "), 0.0) << "pisignerctl is not connected";
  EXPECT_EQ(d.stop(), 0);
}

// One line per signing request with what an operator greps for; never a secret. The line is
// written once the reply has left, so the test waits for it.
TEST(Daemon, LogsOneLinePerSigningRequest) {
  TempDir dir("log");
  Daemon d(dir.path(), basic_config(dir.path()));
  auto c = d.client();
  ASSERT_EQ(c.post(kKeyPath, quoted(attestation_hex(100, 2))).status, 200);
  ASSERT_EQ(c.post(kKeyPath, quoted(attestation_hex(100, 2, 1))).status, 500);
  auto lines_with = [&](const std::string& needle) {
    std::istringstream in(d.log());
    int n = 0;
    for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos ? 1 : 0;
    return n;
  };
  const std::string ok = std::string("sign pkh=") + kBootstrap1Pkh +
                         " kind=attestation chain=NetXxkAx4woPLyu level=100 round=2 result=ok latency_us=";
  const std::string refused = std::string("sign pkh=") + kBootstrap1Pkh +
                              " kind=attestation chain=NetXxkAx4woPLyu level=100 round=2 result=watermark_refused";
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while ((lines_with(ok) == 0 || lines_with(refused) == 0) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(lines_with(ok), 1) << d.log();
  EXPECT_EQ(lines_with(refused), 1) << d.log();
  EXPECT_EQ(lines_with("already signed with different data\""), 1) << "the refusal says why";
  EXPECT_EQ(lines_with("sign pkh="), 2) << "one line per request";
  EXPECT_EQ(d.log().find("edsk"), std::string::npos) << "a secret key in the log";
  EXPECT_EQ(d.stop(), 0);
}

TEST(Daemon, EnforcesWatermarksAndAnswersRetriesIdempotently) {
  TempDir dir("hwm");
  Daemon d(dir.path(), basic_config(dir.path()));
  auto c = d.client();
  auto first = c.post(kKeyPath, quoted(attestation_hex(100, 0)));
  ASSERT_EQ(first.status, 200);
  auto retry = c.post(kKeyPath, quoted(attestation_hex(100, 0)));
  ASSERT_EQ(retry.status, 200);
  EXPECT_EQ(retry.body, first.body);
  auto other = c.post(kKeyPath, quoted(attestation_hex(100, 0, 1)));
  EXPECT_EQ(other.status, 500);
  EXPECT_EQ(other.body,
            R"([{"kind":"temporary","id":"failure","msg":"attestation level 100 and round 0 already signed with different data"}])");
  auto lower = c.post(kKeyPath, quoted(attestation_hex(99, 5)));
  EXPECT_EQ(lower.status, 500);
  EXPECT_NE(lower.body.find("attestation level 99 below high watermark 100"), std::string::npos);
  // Kinds are independent: the block at the same level after its attestation is still signed.
  EXPECT_EQ(c.post(kKeyPath, quoted(block_hex(100, 0))).status, 200);
  EXPECT_EQ(c.post(kKeyPath, quoted(preattestation_hex(100, 0))).status, 200);
  EXPECT_EQ(c.post(kKeyPath, quoted(attestation_hex(100, 1))).status, 200);
}

TEST(Daemon, WatermarksSurviveRestartAndSigkill) {
  TempDir dir("restart");
  const std::string cfg = basic_config(dir.path());
  std::string sig_at_50;
  {
    Daemon d(dir.path(), cfg);
    auto c = d.client();
    auto r = c.post(kKeyPath, quoted(attestation_hex(50, 0)));
    ASSERT_EQ(r.status, 200);
    sig_at_50 = r.body;
    d.kill9();  // no clean shutdown: the watermark must already be on disk
  }
  Daemon d(dir.path(), cfg);
  auto c = d.client();
  EXPECT_EQ(c.post(kKeyPath, quoted(attestation_hex(49, 0))).status, 500);
  EXPECT_EQ(c.post(kKeyPath, quoted(attestation_hex(50, 0, 7))).status, 500);
  EXPECT_EQ(c.post(kKeyPath, quoted(attestation_hex(51, 0))).status, 200);
}

TEST(Daemon, CrashDuringSigningNeverLosesAReturnedSignature) {
  TempDir dir("crash");
  const std::string cfg = basic_config(dir.path());
  int last_returned = 0;
  {
    Daemon d(dir.path(), cfg);
    auto c = d.client();
    // Sign from a second thread while we kill the daemon mid-stream.
    std::atomic<int> highest{0};
    std::thread signer([&] {
      auto c2 = d.client();
      for (int level = 1; level < 100000; ++level) {
        auto r = c2.request("POST", kKeyPath, quoted(attestation_hex(level, 0)), "application/json",
                            std::chrono::seconds(2));
        if (r.status != 200) break;
        highest = level;
      }
    });
    for (int i = 0; i < 2000 && highest < 200; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_GE(highest.load(), 200) << d.log();
    d.kill9();
    signer.join();
    last_returned = highest;
  }
  Daemon d(dir.path(), cfg);
  auto c = d.client();
  // Every level that was answered is at or below the recovered watermark.
  for (int level : {last_returned, last_returned - 1, 1}) {
    auto r = c.post(kKeyPath, quoted(attestation_hex(level, 0, 9)));
    EXPECT_EQ(r.status, 500) << "level " << level << " was signed again with different data after the crash";
  }
}

TEST(Daemon, AuthenticationRequiredEndToEnd) {
  TempDir dir("auth");
  Daemon d(dir.path(), basic_config(dir.path(), std::string("[auth]\nrequired = true\nauthorized_keys = [\"") +
                                                    kBootstrap2Pk + "\"]\n"));
  auto c = d.client();
  EXPECT_EQ(c.get("/authorized_keys").body, R"({"authorized_keys":["tz1gjaF81ZRRvdzjobyfVNsAeSC6PScjfQwN"]})");
  auto missing = c.post(kKeyPath, quoted(kAttestation));
  EXPECT_EQ(missing.status, 500);
  EXPECT_NE(missing.body.find("missing authentication signature field"), std::string::npos);
  const std::string auth =
      "edsigtpuSrpMewNtxr8gyHz7D5AKTfmKoXtrVDidiEUdQv27YwmMuWKfHnvs1VdVVcNrV4bBuhS5TcNWZBM4KU8rpigprsYgHR3";
  auto ok = c.post(kKeyPath + "?authentication=" + auth + "&version=2", quoted(kAttestation));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["signature"], kAttestationSig);
  // The same authentication does not cover another payload.
  auto replay = c.post(kKeyPath + "?authentication=" + auth, quoted(attestation_hex(30000, 0)));
  EXPECT_EQ(replay.status, 500);
  EXPECT_NE(replay.body.find("invalid authentication signature"), std::string::npos);
}

TEST(Daemon, RefusesABrokenConfigWithFileAndLine) {
  TempDir dir("badcfg");
  std::ofstream(dir.path() / "bad.toml") << "[server]\nlisten = [\"127.0.0.1:0\"]\nlistne = 3\n";
  auto [rc, out] = run_command({pisignerd_path(), "--check-config", (dir.path() / "bad.toml").string()});
  EXPECT_EQ(rc, 78);
  EXPECT_NE(out.find("bad.toml:3:10: server.listne: unknown key"), std::string::npos) << out;
  write_config(dir.path() / "good.toml", basic_config(dir.path()));
  auto [rc2, out2] = run_command({pisignerd_path(), "--check-config", (dir.path() / "good.toml").string()});
  EXPECT_EQ(rc2, 0) << out2;
  auto [rc3, out3] = run_command({pisignerd_path(), "-c", (dir.path() / "bad.toml").string()});
  EXPECT_EQ(rc3, 78);
}

TEST(Daemon, RefusesACorruptStoreInsteadOfStartingEmpty) {
  TempDir dir("corrupt");
  std::filesystem::create_directories(dir.path() / "store");
  std::ofstream(dir.path() / "store" / "hwm.sqlite") << std::string(8192, 'x');
  write_config(dir.path() / "c.toml", basic_config(dir.path()));
  auto [rc, out] = run_command({pisignerd_path(), "-c", (dir.path() / "c.toml").string()});
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("hwm.sqlite"), std::string::npos) << out;
}

TEST(Daemon, SecondDaemonOnTheSameStoreIsRefused) {
  TempDir dir("locked");
  Daemon d(dir.path(), basic_config(dir.path()));
  write_config(dir.path() / "c2.toml", basic_config(dir.path()));
  auto [rc, out] = run_command({pisignerd_path(), "-c", (dir.path() / "c2.toml").string()});
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("in use"), std::string::npos) << out;
}

// Bad input through the real server: each gets its documented status and nothing is signed.
TEST(Daemon, BadInputChangesNothing) {
  TempDir dir("badinput");
  Daemon d(dir.path(), basic_config(dir.path()));
  auto c = d.client();
  ASSERT_EQ(c.post(kKeyPath, quoted(attestation_hex(10, 0))).status, 200);
  const double before = signed_ok(c);
  struct Case {
    std::string method, target, content_type, body;
    int status;
  };
  const std::string big = quoted(std::string(70000, 'a'));
  const std::vector<Case> cases = {
      {"POST", kKeyPath, "application/json", "{", 400},
      {"POST", kKeyPath, "application/json", "12", 400},
      {"POST", kKeyPath, "application/json", "[\"13\"]", 400},
      {"POST", kKeyPath, "application/json", "{\"x\":\"13\"}", 400},
      {"POST", kKeyPath, "application/json", "\"abc\"", 400},
      {"POST", kKeyPath, "application/json", "\"zz\"", 400},
      {"POST", kKeyPath, "application/json", "", 400},
      {"POST", kKeyPath, "application/json", "\"\"", 500},
      {"POST", kKeyPath, "application/json", big, 413},
      {"POST", "/keys/tz1gjaF81ZRRvdzjobyfVNsAeSC6PScjfQwN", "application/json", quoted(attestation_hex(11, 0)), 500},
      {"POST", "/keys/tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSy", "application/json", quoted(attestation_hex(11, 0)), 400},
      {"POST", "/keys/edpkuBknW28nW72KG6RoHtYW7p12T6GKc7nAbwYX5m8Wd9sDVC9yav", "application/json", quoted(attestation_hex(11, 0)), 400},
      {"POST", "/keys/", "application/json", quoted(attestation_hex(11, 0)), 400},
      {"PUT", kKeyPath, "application/json", quoted(attestation_hex(11, 0)), 405},
      {"DELETE", kKeyPath, "", "", 405},
      {"POST", "/nope", "application/json", quoted(attestation_hex(11, 0)), 404},
      {"POST", kKeyPath, "text/plain", quoted(attestation_hex(11, 0)), 415},
      {"POST", kKeyPath, "application/bson", quoted(attestation_hex(11, 0)), 415},
      {"POST", kKeyPath, "application/octet-stream", "\x00\x00", 400},
      {"POST", kKeyPath + "?version=9", "application/json", quoted(attestation_hex(11, 0)), 400},
      {"POST", kKeyPath + "?version=abc", "application/json", quoted(attestation_hex(11, 0)), 400},
      {"POST", kKeyPath + "?authentication=%zz", "application/json", quoted(attestation_hex(11, 0)), 400},
      {"POST", kKeyPath + "?version=1&version=2", "application/json", quoted(attestation_hex(11, 0)), 400},
      {"POST", kKeyPath, "application/json", quoted("03" + std::string(40, '0')), 500},
      {"POST", kKeyPath, "application/json", quoted("04" + std::string(40, '0')), 500},
      {"POST", kKeyPath, "application/json", quoted("05" + std::string(40, '0')), 500},
      {"POST", kKeyPath, "application/json", quoted("01" + std::string(40, '0')), 500},
      {"POST", kKeyPath, "application/json", quoted(attestation_hex(11, 0).substr(0, 80)), 500},
      {"POST", kKeyPath, "application/json", quoted(block_hex(11, 0).substr(0, 200)), 500},
      {"POST", kKeyPath, "application/json", quoted(preattestation_hex(11, 0).substr(0, 94)), 500},
      {"POST", kKeyPath, "application/json", quoted("13"), 500},
      {"POST", kKeyPath, "application/json", quoted(attestation_hex(9, 0)), 500},
      {"POST", kKeyPath, "application/json", quoted(attestation_hex(10, 0, 3)), 500},
      {"GET", "/known_keys", "", "", 500},
  };
  for (const auto& tc : cases) {
    auto r = c.request(tc.method, tc.target, tc.body, tc.content_type);
    EXPECT_EQ(r.status, tc.status) << tc.method << " " << tc.target << " [" << tc.content_type << "] "
                                   << tc.body.substr(0, 60) << " -> " << r.body;
    if (r.status == 500) {
      auto j = json::parse(r.body, nullptr, false);
      EXPECT_TRUE(j.is_array() && j.size() == 1 && j[0]["kind"] == "temporary") << r.body;
    }
  }
  EXPECT_EQ(signed_ok(c), before);
  auto status = json::parse(c.get("/status").body);
  ASSERT_EQ(status["watermarks"].size(), 1u);
  EXPECT_EQ(status["watermarks"][0]["level"], 10);
  EXPECT_TRUE(d.process().running());
}
