// pisignerd's start-up refusals: no store, a broken key, a secret others can read. Each must stop
// the daemon with one clear message and its documented exit status, and change nothing on disk;
// --check-config must see every such configuration error that start-up sees (exit 78 both).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <sys/resource.h>

#include "support/daemon.hpp"

using namespace pisigner::testing;
namespace fs = std::filesystem;

namespace {

constexpr int kExitNoStore = 75;
constexpr int kExitConfig = 78;
const std::string kLedgerPkh = "tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E";

// Five lines of settings, so the first [[key]] of `keys` is on line 6.
std::string config_with(const fs::path& dir, const std::string& keys) {
  return "[server]\nlisten = [\"127.0.0.1:0\"]\nadmin_listen = []\n[store]\npath = \"" + (dir / "store").string() + "\"\n" +
         keys;
}

std::string soft_key(const std::string& secret, const std::string& more = {}) {
  return "[[key]]\nbackend = \"soft\"\nsecret_key = \"" + secret + "\"\n" + more;
}

std::string ledger_key(const std::string& device, const std::string& pkh = kLedgerPkh) {
  return "[[key]]\nbackend = \"ledger\"\ndevice = \"" + device + "\"\npath = \"m/44'/1729'/0'/0'\"\npkh = \"" + pkh + "\"\n";
}

std::pair<int, std::string> check_config(const fs::path& file) {
  return run_command({pisignerd_path(), "--check-config", file.string()});
}
// pisignerd -c FILE, expected to refuse; one that starts anyway is stopped and reported as -1.
std::pair<int, std::string> start(const fs::path& file) {
  const fs::path log = file.parent_path() / "start.log";
  std::optional<int> rc;
  {
    Process p({pisignerd_path(), "-c", file.string()}, log.string());
    rc = p.wait(std::chrono::seconds(20));
  }
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  return {rc.value_or(-1), text.str()};
}

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST(Startup, MissingStoreDirectoryIsRefusedAndNothingIsCreated) {
  TempDir dir("nostore");
  write_config(dir.path() / "c.toml", basic_config(dir.path()));
  auto [rc, out] = start(dir.path() / "c.toml");
  EXPECT_EQ(rc, kExitNoStore) << out;
  EXPECT_NE(out.find("no high-watermark store in " + (dir.path() / "store").string()), std::string::npos) << out;
  EXPECT_NE(out.find("pisignerctl hwm init --config " + (dir.path() / "c.toml").string()), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir.path() / "store"));
}

TEST(Startup, EmptyStoreDirectoryIsRefusedAndStaysEmpty) {
  TempDir dir("emptystore");
  fs::create_directories(dir.path() / "store");
  write_config(dir.path() / "c.toml", basic_config(dir.path()));
  auto [rc, out] = start(dir.path() / "c.toml");
  EXPECT_EQ(rc, kExitNoStore) << out;
  EXPECT_NE(out.find("pisignerctl hwm init"), std::string::npos) << out;
  EXPECT_TRUE(fs::is_empty(dir.path() / "store"));
}

TEST(Startup, HwmInitCreatesAPrivateStoreOnceAndTheDaemonThenStarts) {
  TempDir dir("hwminit");
  write_config(dir.path() / "c.toml", basic_config(dir.path()));
  auto [rc, out] = run_command({pisignerctl_path(), "hwm", "init", "--config", (dir.path() / "c.toml").string()});
  ASSERT_EQ(rc, 0) << out;
  const fs::path db = dir.path() / "store" / "hwm.sqlite";
  ASSERT_TRUE(fs::exists(db)) << out;
  EXPECT_EQ(fs::status(dir.path() / "store").permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(db).permissions() & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);
  {
    Daemon d(dir.path(), basic_config(dir.path()));
    auto c = d.client();
    EXPECT_EQ(c.post(std::string("/keys/") + kBootstrap1Pkh, "\"" + attestation_hex(7, 0) + "\"").status, 200);
  }
  // A second init refuses and leaves the store (and its watermark) as it is.
  const std::string before = read(db);
  auto [rc2, out2] = run_command({pisignerctl_path(), "hwm", "init", "--store", (dir.path() / "store").string()});
  EXPECT_EQ(rc2, 1) << out2;
  EXPECT_NE(out2.find("already holds a high-watermark store"), std::string::npos) << out2;
  EXPECT_EQ(read(db), before);
  auto [rc3, out3] = run_command({pisignerctl_path(), "hwm", "show", "--store", (dir.path() / "store").string()});
  EXPECT_EQ(rc3, 0) << out3;
  EXPECT_NE(out3.find("attestation"), std::string::npos) << out3;
}

TEST(Startup, HwmCommandsOtherThanInitNeverCreateAStore) {
  TempDir dir("hwmnocreate");
  const std::string store = (dir.path() / "store").string();
  auto [rc, out] = run_command({pisignerctl_path(), "hwm", "set", "--store", store, "--kind", "attestation", "--chain",
                                "NetXxkAx4woPLyu", "--pkh", kBootstrap1Pkh, "--level", "5", "--yes"});
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("pisignerctl hwm init --store " + store), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(store));
}

struct BrokenKey {
  const char* name;
  std::string keys;     // [[key]] tables, the first on line 6
  std::string message;  // expected in the output, after the file name
};

class StartupBrokenKey : public ::testing::TestWithParam<BrokenKey> {};

TEST_P(StartupBrokenKey, CheckConfigAndStartBothExit78WithFileAndLine) {
  TempDir dir("brokenkey");
  const auto& p = GetParam();
  std::string keys = p.keys;
  for (auto at = keys.find("@DIR@"); at != std::string::npos; at = keys.find("@DIR@")) keys.replace(at, 5, dir.path().string());
  write_config(dir.path() / "c.toml", config_with(dir.path(), keys));
  // A real store: the refusal must come from the key, not from the missing store.
  init_store(config_with(dir.path(), soft_key(kBootstrap1Sk)));
  const std::string expected = (dir.path() / "c.toml").string() + ":" + p.message;
  auto [rc, out] = check_config(dir.path() / "c.toml");
  EXPECT_EQ(rc, kExitConfig) << out;
  EXPECT_NE(out.find(expected), std::string::npos) << "expected: " << expected << "\n" << out;
  auto [rc2, out2] = start(dir.path() / "c.toml");
  EXPECT_EQ(rc2, kExitConfig) << out2;
  EXPECT_NE(out2.find(expected), std::string::npos) << "expected: " << expected << "\n" << out2;
  EXPECT_EQ(out2.find("edsk"), std::string::npos) << "a secret key in the message: " << out2;
}

INSTANTIATE_TEST_SUITE_P(
    Keys, StartupBrokenKey,
    ::testing::Values(
        BrokenKey{"NotBase58", soft_key("unencrypted:edsk0OIl0OIl"), "6: [[key]]: secret_key:"},
        BrokenKey{"PublicKeyAsSecret", soft_key("unencrypted:edpktzNbDAUjUk697W7gYg2CRuBQjyPxbEg8dLccYYwKSKvkPvjtV9"),
                  "6: [[key]]: secret_key:"},
        BrokenKey{"EncryptedMissingPassphraseFile",
                  soft_key("encrypted:edesk1n2uGpPtVaeyhWkZzTEcaPRzkQHrqkw5pk8VkZvp3rM5KSc3mYNH5cJEuNcfB91B3G3JakKzfLQSmrgF4ht",
                           "passphrase_file = \"@DIR@/absent\"\n"),
                  "6: [[key]]: cannot read passphrase_file"},
        BrokenKey{"SameKeyTwice", soft_key(kBootstrap1Sk) + soft_key(kBootstrap1Sk),
                  "9: [[key]]: key tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx is configured twice"},
        BrokenKey{"TwoLedgerKeysOnOneDevice", ledger_key("tcp://127.0.0.1:1") + ledger_key("tcp://127.0.0.1:1", kBootstrap1Pkh),
                  "13:10: key[1].device: \"tcp://127.0.0.1:1\" may be the same Ledger as the key at line 6"},
        BrokenKey{"HidBesideASerial", ledger_key("0001") + ledger_key("hid", kBootstrap1Pkh),
                  "13:10: key[1].device: \"hid\" may be the same Ledger as the key at line 6"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Startup, WrongPassphraseExits78) {
  TempDir dir("wrongpass");
  write_config(dir.path() / "pass", "not the password\n");
  write_config(dir.path() / "c.toml",
               config_with(dir.path(), soft_key("encrypted:edesk1n2uGpPtVaeyhWkZzTEcaPRzkQHrqkw5pk8VkZvp3rM5KSc3mYNH5cJEuNcfB91B3G3JakKzfLQSmrgF4ht",
                                                "passphrase_file = \"" + (dir.path() / "pass").string() + "\"\n")));
  auto [rc, out] = check_config(dir.path() / "c.toml");
  EXPECT_EQ(rc, kExitConfig) << out;
  EXPECT_NE(out.find("c.toml:6: [[key]]: secret_key: wrong passphrase"), std::string::npos) << out;
  // With the right one, the same config passes.
  write_config(dir.path() / "pass", "password\n");
  auto [rc2, out2] = check_config(dir.path() / "c.toml");
  EXPECT_EQ(rc2, 0) << out2;
}

// The admin API (Ledger authorize, deauthorize, reset-hwm) has no authentication: loopback only.
TEST(Startup, AdminApiOffLoopbackIsRefused) {
  TempDir dir("adminlisten");
  for (const std::string addr : {"0.0.0.0:0", "[::]:0", "10.77.0.2:6733", "128.0.0.1:0"}) {
    std::string text = config_with(dir.path(), soft_key(kBootstrap1Sk));
    text.replace(text.find("admin_listen = []"), 17, "admin_listen = [\"" + addr + "\"]");
    write_config(dir.path() / "c.toml", text);
    for (const auto& [rc, out] : {check_config(dir.path() / "c.toml"), start(dir.path() / "c.toml")}) {
      EXPECT_EQ(rc, kExitConfig) << addr << ": " << out;
      EXPECT_NE(out.find("server.admin_listen: '" + addr + "' is not a loopback address"), std::string::npos) << out;
    }
  }
  for (const std::string addr : {"127.0.0.1:0", "127.0.0.2:0", "[::1]:0", "localhost:0"}) {
    std::string text = config_with(dir.path(), soft_key(kBootstrap1Sk));
    text.replace(text.find("admin_listen = []"), 17, "admin_listen = [\"" + addr + "\"]");
    write_config(dir.path() / "c.toml", text);
    auto [rc, out] = check_config(dir.path() / "c.toml");
    EXPECT_EQ(rc, 0) << addr << ": " << out;
  }
}

// The signing and the health listener's addresses are both checked, each named in the message.
TEST(Startup, BadListenAddressExits78) {
  TempDir dir("badlisten");
  const std::string base = config_with(dir.path(), soft_key(kBootstrap1Sk));
  std::string signing = base;
  signing.replace(signing.find("127.0.0.1:0"), 11, "127.0.0.1:99999");
  std::string health = base;
  health.replace(health.find("admin_listen = []"), 17, "admin_listen = []\nhealth_listen = [\"127.0.0.1:70000\"]");
  for (const auto& [text, expected] : {std::pair{signing, "server.listen: listen address '127.0.0.1:99999'"},
                                       std::pair{health, "server.health_listen: listen address '127.0.0.1:70000'"}}) {
    write_config(dir.path() / "c.toml", text);
    auto [rc, out] = check_config(dir.path() / "c.toml");
    EXPECT_EQ(rc, kExitConfig) << out;
    EXPECT_NE(out.find(expected), std::string::npos) << out;
  }
}

// HAProxy checks the health listener: it answers /authorized like the signing port, and signs nothing.
TEST(Startup, HealthListenerAnswersChecksAndSignsNothing) {
  TempDir dir("healthlisten");
  std::string text = basic_config(dir.path());
  const auto at = text.find("admin_listen = ");
  ASSERT_NE(at, std::string::npos) << text;
  text.insert(at, "health_listen = [\"127.0.0.1:0\"]\n");
  Daemon d(dir.path(), text);
  ASSERT_NE(d.health_port(), 0) << d.log();
  ASSERT_NE(d.health_port(), d.port());
  HttpClient health(d.health_port());
  auto a = health.get("/authorized");
  EXPECT_EQ(a.status, d.client().get("/authorized").status) << a.body;
  EXPECT_NE(a.body.find("\"checks\""), std::string::npos) << a.body;
  EXPECT_EQ(health.get("/healthz").status, 200);
  EXPECT_NE(health.get("/metrics").body.find("pisigner_http_open_connections{listener=\"health\"}"), std::string::npos);
  auto sign = health.post("/keys/" + std::string(kBootstrap1Pkh), "\"" + attestation_hex(1, 0) + "\"");
  EXPECT_EQ(sign.status, 404) << sign.body;
  EXPECT_EQ(health.get("/keys/" + std::string(kBootstrap1Pkh)).status, 404);
  EXPECT_EQ(health.get("/status").status, 404);
  EXPECT_NE(d.log().find("health checks on 127.0.0.1:0"), std::string::npos) << d.log();
  // The signing port still serves everything.
  EXPECT_EQ(d.client().post("/keys/" + std::string(kBootstrap1Pkh), "\"" + attestation_hex(1, 0) + "\"").status, 200);
}

TEST(Startup, WorldReadableSecretsAreRefused) {
  TempDir dir("worldreadable");
  init_store(config_with(dir.path(), soft_key(kBootstrap1Sk)));
  const fs::path conf = dir.path() / "c.toml";
  write_config(conf, config_with(dir.path(), soft_key(kBootstrap1Sk)));
  fs::permissions(conf, fs::perms::others_read, fs::perm_options::add);
  for (const auto& [rc, out] : {check_config(conf), start(conf)}) {
    EXPECT_EQ(rc, kExitConfig) << out;
    EXPECT_NE(out.find(conf.string() + ": holds a secret_key and is readable by every user; fix it with: chmod o-rwx"),
              std::string::npos)
        << out;
  }
  // A config without secret_key may be world-readable; its passphrase file may not.
  write_config(dir.path() / "pass", "password\n");
  fs::permissions(dir.path() / "pass", fs::perms::others_read, fs::perm_options::add);
  write_config(conf, config_with(dir.path(), soft_key(kBootstrap1Sk, "passphrase_file = \"" + (dir.path() / "pass").string() + "\"\n")));
  auto [rc, out] = check_config(conf);
  EXPECT_EQ(rc, kExitConfig) << out;
  EXPECT_NE(out.find((dir.path() / "pass").string() + ": holds a passphrase"), std::string::npos) << out;
  write_config(conf, config_with(dir.path(), ledger_key("tcp://127.0.0.1:1")));
  fs::permissions(conf, fs::perms::others_read, fs::perm_options::add);
  auto [rc2, out2] = check_config(conf);
  EXPECT_EQ(rc2, 0) << out2;
}

TEST(Startup, CoreDumpsAreOff) {
  // Give the daemon a core limit to lose: raise ours (inherited) to the hard limit.
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_CORE, &lim), 0);
  if (lim.rlim_max == 0) GTEST_SKIP() << "the hard core limit is already 0 here";
  lim.rlim_cur = lim.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_CORE, &lim), 0);
  TempDir dir("nocore");
  Daemon d(dir.path(), basic_config(dir.path()));
  std::istringstream limits(read("/proc/" + std::to_string(d.process().pid()) + "/limits"));
  std::string line;
  while (std::getline(limits, line) && line.rfind("Max core file size", 0) != 0) {
  }
  std::istringstream fields(line.substr(std::string("Max core file size").size()));
  std::string soft, hard;
  fields >> soft >> hard;
  EXPECT_EQ(soft, "0") << line;
  EXPECT_EQ(hard, "0") << line;
}
