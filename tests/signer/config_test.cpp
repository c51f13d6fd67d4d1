// pisignerd's TOML config: a full valid file, defaults, and every rejection naming file:line:col and key.
#include "pisigner/config/config.hpp"
#include "pisigner/config/secret_text.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace pisigner::config {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSoftKey = R"([[key]]
backend = "soft"
secret_key = "unencrypted:edsk3gUfUPyBSfrS9CCgmCiQsTCHGkviBDusMxDJstFtojtc1zcpsh"
)";

constexpr const char* kFull = R"(# a complete configuration
[server]
listen = ["127.0.0.1:6732", "[::1]:6733"]
known_keys = true
io_threads = 3
sign_threads = 8
body_limit = 32768
header_timeout_s = 5
idle_timeout_s = 120

[store]
path = "/srv/pisigner"

[policy]
magic_bytes = ["0x11", "0x12", "0x13", "3"]
chains = ["NetXdQprcVkpaWU"]

[auth]
required = true
authorized_keys = ["edpktzNbDAUjUk697W7gYg2CRuBQjyPxbEg8dLccYYwKSKvkPvjtV9"]

[health]
interval_ms = 500
max_age_ms = 2000

[log]
level = "debug"

[[key]]
backend = "ledger"
device = "tcp://127.0.0.1:9999"
path = "m/44'/1729'/0'/0'"
curve = "ed25519"
pkh = "tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx"
timeout_ms = 1500

[[key]]
backend = "soft"
secret_key = "encrypted:edesk1zxaPJkhNGSzgZ8ZXhbhG7Aufv5P4pmkGjYq2JLw7TbUY2sW6sBsrq7gsqg4SF7xzwRLbRRuJ3rAKeYLD6zNsA"
passphrase_file = "/etc/pisigner/passphrase"
allow_mainnet = true
)";

// Asserts a parse failure "cfg.toml:<line>:<col>: <key>: ...<fragment>...".
void expect_error(const std::string& text, int line, const std::string& key, const std::string& fragment) {
  auto r = parse(text, "cfg.toml");
  ASSERT_FALSE(r.ok()) << "accepted:\n" << text;
  const std::string& m = r.error().message;
  // "cfg.toml:<line>:<col>: <key>: <what>"
  const std::string prefix = "cfg.toml:";
  ASSERT_EQ(m.rfind(prefix, 0), 0u) << m;
  std::size_t pos = prefix.size();
  auto number = [&]() {
    std::size_t end = m.find(':', pos);
    const std::string digits = m.substr(pos, end == std::string::npos ? 0 : end - pos);
    pos = end == std::string::npos ? m.size() : end + 1;
    return !digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos ? std::stoi(digits) : -1;
  };
  EXPECT_EQ(number(), line) << m;
  EXPECT_GE(number(), 1) << m;
  ASSERT_EQ(m.compare(pos, 1, " "), 0) << m;
  const std::size_t key_end = m.find(": ", pos + 1);
  ASSERT_NE(key_end, std::string::npos) << m;
  EXPECT_EQ(m.substr(pos + 1, key_end - pos - 1), key) << m;
  EXPECT_NE(m.find(fragment), std::string::npos) << m;
}

TEST(Config, FullConfiguration) {
  auto r = parse(kFull, "full.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = *r;
  EXPECT_EQ(c.source, "full.toml");
  EXPECT_EQ(c.server.listen, (std::vector<std::string>{"127.0.0.1:6732", "[::1]:6733"}));
  EXPECT_TRUE(c.server.known_keys);
  EXPECT_EQ(c.server.io_threads, 3);
  EXPECT_EQ(c.server.sign_threads, 8);
  EXPECT_EQ(c.server.body_limit, 32768u);
  EXPECT_EQ(c.server.header_timeout, 5s);
  EXPECT_EQ(c.server.idle_timeout, 120s);
  EXPECT_EQ(c.store.path, "/srv/pisigner");
  EXPECT_EQ(c.policy.magic_bytes, (std::set<std::uint8_t>{0x03, 0x11, 0x12, 0x13}));
  ASSERT_EQ(c.policy.chains.size(), 1u);
  EXPECT_EQ(c.policy.chains[0].to_b58(), "NetXdQprcVkpaWU");
  EXPECT_TRUE(c.auth.required);
  EXPECT_EQ(c.auth.authorized_keys.size(), 1u);
  EXPECT_EQ(c.health.interval, 500ms);
  EXPECT_EQ(c.health.max_age, 2000ms);
  EXPECT_EQ(c.log.level, "debug");
  ASSERT_EQ(c.keys.size(), 2u);
  EXPECT_EQ(c.keys[0].backend, "ledger");
  EXPECT_EQ(c.keys[0].device, "tcp://127.0.0.1:9999");
  EXPECT_EQ(c.keys[0].path, (std::vector<std::uint32_t>{0x8000002cu, 0x800006c1u, 0x80000000u, 0x80000000u}));
  EXPECT_EQ(c.keys[0].curve, crypto::Curve::Ed25519);
  EXPECT_EQ(c.keys[0].pkh.to_b58(), "tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx");
  EXPECT_EQ(c.keys[0].timeout, 1500ms);
  EXPECT_EQ(c.keys[0].line, 29);
  EXPECT_EQ(c.keys[1].backend, "soft");
  EXPECT_EQ(c.keys[1].passphrase_file, std::filesystem::path("/etc/pisigner/passphrase"));
  EXPECT_TRUE(c.keys[1].allow_mainnet);
  EXPECT_EQ(c.keys[1].line, 37);
}

TEST(Config, Defaults) {
  auto r = parse(kSoftKey, "min.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = *r;
  EXPECT_EQ(c.server.listen, std::vector<std::string>{"127.0.0.1:6732"});
  EXPECT_FALSE(c.server.known_keys);
  EXPECT_EQ(c.server.io_threads, 8);
  EXPECT_EQ(c.server.sign_threads, 8);
  EXPECT_EQ(c.server.body_limit, 65536u);
  EXPECT_EQ(c.server.header_timeout, 10s);
  EXPECT_EQ(c.server.idle_timeout, 60s);
  EXPECT_EQ(c.server.max_connections, 256);
  EXPECT_EQ(c.store.path, "/var/lib/pisigner");
  EXPECT_EQ(c.policy.magic_bytes, (std::set<std::uint8_t>{0x11, 0x12, 0x13}));
  EXPECT_TRUE(c.policy.chains.empty());
  EXPECT_FALSE(c.auth.required);
  EXPECT_EQ(c.health.interval, 1000ms);
  EXPECT_EQ(c.health.max_age, 3000ms);
  EXPECT_EQ(c.log.level, "info");
  ASSERT_EQ(c.keys.size(), 1u);
  EXPECT_FALSE(c.keys[0].allow_mainnet);
  EXPECT_FALSE(c.keys[0].passphrase_file);
}

TEST(Config, LedgerDefaults) {
  auto r = parse("[[key]]\nbackend = \"ledger\"\npath = \"m/44'/1729'/0'/0'\"\npkh = \"tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx\"\n",
                 "l.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->keys[0].device, "hid");
  EXPECT_EQ(r->keys[0].curve, crypto::Curve::Ed25519);
  EXPECT_EQ(r->keys[0].timeout, 3000ms);
}

TEST(Config, UnknownKeysNameTheirPath) {
  expect_error(std::string("colour = \"red\"\n") + kSoftKey, 1, "colour", "unknown key");
  expect_error(std::string("[server]\nlisten_addr = [\"127.0.0.1:1\"]\n") + kSoftKey, 2, "server.listen_addr",
               "unknown key (expected one of: listen,");
  expect_error(std::string(kSoftKey) + "colour = \"red\"\n", 4, "key[0].colour", "unknown key");
  expect_error(std::string(kSoftKey) + "[[key]]\nbackend = \"ledger\"\npath = \"m/44'/1729'/0'/0'\"\n"
                                       "pkh = \"tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx\"\nsecret_key = \"x\"\n",
               8, "key[1].secret_key", "unknown key");
  expect_error(std::string("[health]\ninterval = 5\n") + kSoftKey, 2, "health.interval", "unknown key");
}

TEST(Config, MaxConnections) {
  auto r = parse(std::string("[server]\nmax_connections = 32\n") + kSoftKey, "cap.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->server.max_connections, 32);
}

TEST(Config, HealthListenIsOffUnlessSet) {
  auto off = parse(kSoftKey, "off.toml");
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_TRUE(off->server.health_listen.empty());
  auto on = parse(std::string("[server]\nhealth_listen = [\"10.77.0.2:6734\"]\n") + kSoftKey, "on.toml");
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_EQ(on->server.health_listen, std::vector<std::string>{"10.77.0.2:6734"});
  expect_error(std::string("[server]\nhealth_listen = [\"6734\"]\n") + kSoftKey, 2, "server.health_listen",
               "must be host:port");
  expect_error(std::string("[server]\nhealth_listen = \"127.0.0.1:6734\"\n") + kSoftKey, 2, "server.health_listen",
               "array of strings");
}

TEST(Config, WrongTypes) {
  expect_error(std::string("[server]\nknown_keys = \"yes\"\n") + kSoftKey, 2, "server.known_keys", "true or false");
  expect_error(std::string("[server]\nio_threads = \"2\"\n") + kSoftKey, 2, "server.io_threads", "integer");
  expect_error(std::string("[server]\nio_threads = 2.5\n") + kSoftKey, 2, "server.io_threads", "integer");
  expect_error(std::string("[server]\nlisten = \"127.0.0.1:1\"\n") + kSoftKey, 2, "server.listen", "array of strings");
  expect_error(std::string("[server]\nlisten = [\"127.0.0.1:1\", 2]\n") + kSoftKey, 2, "server.listen",
               "array of strings");
  expect_error(std::string("server = 5\n") + kSoftKey, 1, "server", "must be a table");
  expect_error(std::string("[log]\nlevel = 3\n") + kSoftKey, 2, "log.level", "must be a string");
  expect_error(std::string("[auth]\nrequired = 1\n") + kSoftKey, 2, "auth.required", "true or false");
  expect_error(std::string(kSoftKey) + "allow_mainnet = \"true\"\n", 4, "key[0].allow_mainnet", "true or false");
}

TEST(Config, OutOfRangeValues) {
  expect_error(std::string("[server]\nio_threads = 0\n") + kSoftKey, 2, "server.io_threads", "between 1 and 64");
  expect_error(std::string("[server]\nsign_threads = 1000\n") + kSoftKey, 2, "server.sign_threads", "between");
  expect_error(std::string("[server]\nbody_limit = 100\n") + kSoftKey, 2, "server.body_limit", "between");
  expect_error(std::string("[server]\nheader_timeout_s = 0\n") + kSoftKey, 2, "server.header_timeout_s", "between");
  expect_error(std::string("[server]\nidle_timeout_s = -5\n") + kSoftKey, 2, "server.idle_timeout_s", "between");
  expect_error(std::string("[server]\nmax_connections = 0\n") + kSoftKey, 2, "server.max_connections", "between 1 and 1024");
  expect_error(std::string("[server]\nmax_connections = 1025\n") + kSoftKey, 2, "server.max_connections", "between");
  expect_error(std::string("[server]\nmax_connections = \"9\"\n") + kSoftKey, 2, "server.max_connections", "integer");
  expect_error(std::string("[server]\nlisten = []\n") + kSoftKey, 2, "server.listen", "at least one");
  expect_error(std::string("[server]\nlisten = [\"localhost\"]\n") + kSoftKey, 2, "server.listen", "host:port");
  expect_error(std::string("[health]\ninterval_ms = 10\n") + kSoftKey, 2, "health.interval_ms", "between");
  expect_error(std::string("[health]\ninterval_ms = 1000\nmax_age_ms = 500\n") + kSoftKey, 3, "health.max_age_ms",
               "between 1000");
  expect_error(std::string("[log]\nlevel = \"verbose\"\n") + kSoftKey, 2, "log.level", "trace, debug");
  expect_error(std::string("[store]\npath = \"\"\n") + kSoftKey, 2, "store.path", "must not be empty");
}

TEST(Config, PolicyLimits) {
  auto d = parse(kSoftKey, "d.toml");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->policy.max_chains_per_key, 4u);
  EXPECT_FALSE(d->policy.max_level_jump);
  auto set = parse(std::string("[policy]\nmax_chains_per_key = 1\nmax_level_jump = 50\n") + kSoftKey, "p.toml");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->policy.max_chains_per_key, 1u);
  EXPECT_EQ(set->policy.max_level_jump, 50);
  expect_error(std::string("[policy]\nmax_chains_per_key = -1\n") + kSoftKey, 2, "policy.max_chains_per_key",
               "between 0 and 1000");
  expect_error(std::string("[policy]\nmax_level_jump = 0\n") + kSoftKey, 2, "policy.max_level_jump", "between 1");
  expect_error(std::string("[policy]\nmax_level_jump = \"5\"\n") + kSoftKey, 2, "policy.max_level_jump", "integer");
}

// A Ledger reached over tcp:// (Speculos, pisigner-vledger) is a key in software: like a soft key
// it may carry allow_mainnet.
TEST(Config, LedgerKeyMayAllowMainnet) {
  auto r = parse("[[key]]\nbackend = \"ledger\"\ndevice = \"tcp://127.0.0.1:9999\"\npath = \"m/44'/1729'/0'/0'\"\n"
                 "pkh = \"tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx\"\nallow_mainnet = true\n",
                 "l.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->keys[0].allow_mainnet);
}

TEST(Config, MissingKeyTable) {
  auto r = parse("[server]\nknown_keys = true\n", "cfg.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("cfg.toml: key: no [[key]] configured", 0), 0u) << r.error().message;
  expect_error("[key]\nbackend = \"soft\"\n", 1, "key", "[[key]]");
}

TEST(Config, SoftKeyRules) {
  expect_error("[[key]]\nbackend = \"soft\"\nsecret_key = \"encrypted:edesk1abc\"\n", 3, "key[0].secret_key",
               "set passphrase_file");
  expect_error("[[key]]\nbackend = \"soft\"\nallow_mainnet = true\n", 1, "key[0].secret_key", "required");
  expect_error("[[key]]\nsecret_key = \"x\"\n", 1, "key[0].backend", "\"soft\" or \"ledger\"");
  expect_error("[[key]]\nbackend = \"yubihsm\"\n", 2, "key[0].backend", "\"soft\" or \"ledger\"");
}

TEST(Config, LedgerKeyRules) {
  const std::string pkh = "pkh = \"tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx\"\n";
  const std::string path = "path = \"m/44'/1729'/0'/0'\"\n";
  expect_error("[[key]]\nbackend = \"ledger\"\n" + pkh, 1, "key[0].path", "required");
  expect_error("[[key]]\nbackend = \"ledger\"\n" + path, 1, "key[0].pkh", "required");
  expect_error("[[key]]\nbackend = \"ledger\"\npath = \"44/1729\"\n" + pkh, 3, "key[0].path", "");
  expect_error("[[key]]\nbackend = \"ledger\"\n" + path + pkh + "curve = \"ed448\"\n", 5, "key[0].curve",
               "ed25519, secp256k1 or p256");
  expect_error("[[key]]\nbackend = \"ledger\"\n" + path + "pkh = \"tz1nope\"\n", 4, "key[0].pkh", "");
  expect_error("[[key]]\nbackend = \"ledger\"\n" + path + pkh + "timeout_ms = 5\n", 5, "key[0].timeout_ms", "between");
  // Start-up would refuse it at the device; the config refuses it first.
  expect_error("[[key]]\nbackend = \"ledger\"\n" + path + "curve = \"secp256k1\"\n" + pkh, 5, "key[0].pkh",
               "is a ed25519 address, but curve is \"secp256k1\"");
}

// One device worker owns a Ledger: a second key on the same device could not sign.
TEST(Config, TwoLedgerKeysOnOneDeviceAreRefused) {
  auto key = [](const std::string& device, const std::string& pkh) {
    return "[[key]]\nbackend = \"ledger\"\ndevice = \"" + device + "\"\npath = \"m/44'/1729'/0'/0'\"\npkh = \"" + pkh + "\"\n";
  };
  const std::string a = "tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx", b = "tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E";
  expect_error(key("tcp://127.0.0.1:9999", a) + key("tcp://127.0.0.1:9999", b), 8, "key[1].device",
               "may be the same Ledger as the key at line 1");
  expect_error(key("0001", a) + key("0001", b), 8, "key[1].device", "one key per device");
  expect_error(key("hid", a) + key("0002", b), 8, "key[1].device", "the key at line 1 (device \"hid\")");
  expect_error(key("0002", a) + key("hid", b), 8, "key[1].device", "\"hid\" may be the same Ledger");
  // Without `device`, a key takes "hid": two such keys clash too (the error points at the table).
  expect_error("[[key]]\nbackend = \"ledger\"\npath = \"m/44'/1729'/0'/0'\"\npkh = \"" + a + "\"\n" +
                   "[[key]]\nbackend = \"ledger\"\npath = \"m/44'/1729'/0'/0'\"\npkh = \"" + b + "\"\n",
               5, "key[1].device", "one key per device");
  // Separate devices: two serials, two emulators, hid beside an emulator.
  for (const auto& ok : {key("0001", a) + key("0002", b), key("tcp://127.0.0.1:1", a) + key("tcp://127.0.0.1:2", b),
                         key("hid", a) + key("tcp://127.0.0.1:2", b)}) {
    auto r = parse(ok, "cfg.toml");
    EXPECT_TRUE(r.ok()) << ok << (r.ok() ? "" : r.error().message);
  }
}

TEST(Config, WorldReadableSecretsAreRefused) {
  const auto dir = std::filesystem::temp_directory_path() / ("pisigner-secrets-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "pisigner.toml";
  const auto pass = dir / "pass";
  using std::filesystem::perms;
  auto write = [](const std::filesystem::path& f, const std::string& text, perms mode) {
    std::ofstream(f) << text;
    std::filesystem::permissions(f, mode);
  };
  const perms private_mode = perms::owner_read | perms::owner_write;
  const perms group_mode = private_mode | perms::group_read;
  write(file, kSoftKey, group_mode);  // root:pisigner 0640, as packaged
  ASSERT_TRUE(check_secret_files(*load_file(file)).ok());
  write(file, kSoftKey, group_mode | perms::others_read);
  auto r = check_secret_files(*load_file(file));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, file.string() + ": holds a secret_key and is readable by every user; fix it with: chmod o-rwx " +
                                   file.string());
  // The passphrase file: checked whatever the config's own mode.
  write(pass, "password\n", private_mode | perms::others_read);
  write(file, std::string(kSoftKey) + "passphrase_file = \"" + pass.string() + "\"\n", private_mode);
  auto p = check_secret_files(*load_file(file));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message.rfind(pass.string() + ": holds a passphrase (line 1)", 0), 0u) << p.error().message;
  std::filesystem::permissions(pass, private_mode);
  EXPECT_TRUE(check_secret_files(*load_file(file)).ok());
  // No secret in the config: it may be world-readable.
  write(file, "[[key]]\nbackend = \"ledger\"\npath = \"m/44'/1729'/0'/0'\"\npkh = \"tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx\"\n",
        group_mode | perms::others_read);
  EXPECT_TRUE(check_secret_files(*load_file(file)).ok());
  std::filesystem::remove_all(dir);
}

TEST(Config, WipeSecretsOverwritesTheSecretKeyText) {
  auto r = parse(kFull, "full.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_FALSE(r->keys[1].secret_key.empty());
  wipe_secrets(*r);
  EXPECT_TRUE(r->keys[1].secret_key.empty());
  EXPECT_EQ(r->keys[0].pkh.to_b58(), "tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx");  // nothing else changes
}

TEST(Config, SecretTextIsOverwrittenInPlace) {
  SecretText t(std::string(64, 's'));
  const char* data = t.view().data();
  t.mutable_text().resize(10);  // trimmed: the bytes past the end are secret too
  t.wipe();
  EXPECT_TRUE(t.view().empty());
  for (int i = 0; i < 64; ++i) EXPECT_EQ(data[i], '\0') << i;  // same buffer, still owned by `t`
}

TEST(Config, BadChainIdAndAuthorizedKey) {
  expect_error(std::string("[policy]\nchains = [\"NetXdQprcVkpaWU\", \"NetXbad\"]\n") + kSoftKey, 2, "policy.chains",
               "'NetXbad'");
  expect_error(std::string("[auth]\nauthorized_keys = [\"edpkBAD\"]\n") + kSoftKey, 2, "auth.authorized_keys",
               "'edpkBAD'");
  expect_error(std::string("[auth]\nauthorized_keys = [\"tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx\"]\n") + kSoftKey, 2,
               "auth.authorized_keys", "tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx");
  expect_error(std::string("[auth]\nrequired = true\n") + kSoftKey, 2, "auth.required", "authorized_keys is empty");
}

TEST(Config, BadMagicBytes) {
  for (const char* bad : {"0x100", "abc", "", "256", "-1", "0x", "17x", "0b2"}) {
    expect_error(std::string("[policy]\nmagic_bytes = [\"0x11\", \"") + bad + "\"]\n" + kSoftKey, 2,
                 "policy.magic_bytes", std::string("'") + bad + "'");
  }
  expect_error(std::string("[policy]\nmagic_bytes = [17]\n") + kSoftKey, 2, "policy.magic_bytes", "array of strings");
}

TEST(Config, MagicBytesParseLikeOcamlIntOfString) {
  // reference/octez-signer.md §4: "0x11, 17, 0o21, 0b10001 all work"; a leading 0 is still decimal.
  for (const char* spelling : {"0x11", "0X11", "17", "0o21", "0b10001", "017"}) {
    auto r = parse(std::string("[policy]\nmagic_bytes = [\"") + spelling + "\"]\n" + kSoftKey, "cfg.toml");
    ASSERT_TRUE(r.ok()) << spelling << ": " << r.error().message;
    EXPECT_EQ(r->policy.magic_bytes, std::set<std::uint8_t>{0x11}) << spelling;
  }
}

TEST(Config, TomlSyntaxErrorNamesTheLine) {
  auto r = parse(std::string(kSoftKey) + "\n[server\nlisten = [\"a:1\"]\n", "cfg.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("cfg.toml:5:", 0), 0u) << r.error().message;
  auto s = parse("[[key]]\nbackend = \"soft\nsecret_key = \"x\"\n", "cfg.toml");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message.rfind("cfg.toml:2:", 0), 0u) << s.error().message;
}

TEST(Config, LoadFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("pisigner-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "pisigner.toml";
  std::ofstream(file) << kFull;
  auto r = load_file(file);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->source, file.string());
  std::ofstream(file) << "[server]\nio_threads = 0\n" << kSoftKey;
  auto bad = load_file(file);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind(file.string() + ":2:", 0), 0u) << bad.error().message;
  auto missing = load_file(dir / "absent.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("absent.toml"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pisigner::config

namespace pisigner::config {
namespace {

constexpr const char* kCluster = R"([cluster]
endpoints = ["https://10.8.0.1:2379", "https://10.8.0.2:2379", "https://10.8.0.3:2379"]
ca_file = "/etc/pisigner/etcd/ca.crt"
cert_file = "/etc/pisigner/etcd/client.crt"
key_file = "/etc/pisigner/etcd/client.key"
user = "pisigner-a"
password_file = "/etc/pisigner/etcd/password"
node = "pi-a"
call_timeout_ms = 1000
budget_ms = 2500
)";

TEST(ConfigCluster, ParsesTheSectionAndPerKeyFallback) {
  auto c = parse(std::string(kCluster) + kSoftKey + "on_cluster_unavailable = \"local\"\n", "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->cluster.enabled);
  EXPECT_EQ(c->cluster.endpoints.size(), 3u);
  EXPECT_EQ(c->cluster.node, "pi-a");
  EXPECT_EQ(c->cluster.user, "pisigner-a");
  EXPECT_EQ(c->cluster.call_timeout, 1000ms);
  EXPECT_EQ(c->cluster.connect_timeout, 500ms);
  EXPECT_EQ(c->cluster.budget, 2500ms);
  EXPECT_TRUE(c->keys[0].local_when_cluster_unavailable);
  auto plain = parse(kSoftKey, "t.toml");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->cluster.enabled);
  EXPECT_FALSE(plain->keys[0].local_when_cluster_unavailable);
}

TEST(ConfigCluster, RejectsWhatCannotWork) {
  auto with = [](const std::string& from, const std::string& to) {
    std::string t = kCluster;
    t.replace(t.find(from), from.size(), to);
    return t + kSoftKey;
  };
  expect_error(with("https://10.8.0.1:2379", "http://10.8.0.1:2379"), 2, "cluster.endpoints", "https://host:port");
  expect_error(with("https://10.8.0.1:2379", "https://10.8.0.1"), 2, "cluster.endpoints", "https://host:port");
  expect_error(with("node = \"pi-a\"", "node = \"pi/a\""), 8, "cluster.node", "must name this Pi");
  expect_error(with("budget_ms = 2500", "budget_ms = 500"), 10, "cluster.budget_ms", "at least");
  expect_error(with("user = \"pisigner-a\"\n", ""), 6, "cluster.user", "go together");
  expect_error(with("node = \"pi-a\"", "nodes = \"pi-a\""), 8, "cluster.nodes", "unknown key");
  expect_error(std::string(kSoftKey) + "on_cluster_unavailable = \"local\"\n", 4, "key[0].on_cluster_unavailable",
               "needs a [cluster] section");
  expect_error(std::string(kCluster) + kSoftKey + "on_cluster_unavailable = \"sign\"\n", 14,
               "key[0].on_cluster_unavailable", "\"refuse\" or \"local\"");
}

}  // namespace
}  // namespace pisigner::config
