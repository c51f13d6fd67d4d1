// pisignerd's configuration: one TOML file. Every key is documented in README.md ("Configuration").
// Loading is strict: unknown keys, wrong types and out-of-range values are errors that name the
// file, line and key, and nothing starts on a broken config.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pisigner/config/hal_config.hpp"
#include "pisigner/crypto/curve.hpp"
#include "pisigner/result.hpp"
#include "pisigner/tezos/keys.hpp"

namespace pisigner::config {

struct ServerConfig {
  std::vector<std::string> listen{"127.0.0.1:6732"};
  // Operator API (pisignerctl ledger ...); never expose it through the proxy. Empty: disabled.
  std::vector<std::string> admin_listen{"127.0.0.1:6733"};
  // GET /authorized, /healthz and /metrics only, on an I/O thread of their own, so HAProxy's check
  // never waits behind signing traffic (its `check port`). Empty: those routes are on `listen` only.
  std::vector<std::string> health_listen{};
  bool known_keys = false;
  // Each I/O thread owns its connections (no wake-ups between threads on a request's path); soft-key
  // signs run inline, so concurrent clients sign in parallel up to this many and share fsyncs.
  int io_threads = 8;
  int sign_threads = 8;
  std::size_t body_limit = 64 * 1024;
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds idle_timeout{60};
  // Open connections per listener set; at the cap the longest-idle keep-alive connection makes room.
  int max_connections = 256;
};

struct StoreConfig {
  std::filesystem::path path = "/var/lib/pisigner";
};

struct PolicyConfig {
  std::set<std::uint8_t> magic_bytes{0x11, 0x12, 0x13};
  std::vector<tezos::ChainId> chains;  // empty = any
  std::size_t max_chains_per_key = 4;         // distinct chains one key may sign on; 0 = no cap
  std::optional<std::int32_t> max_level_jump;  // refuse a watermark advance of more levels; unset = off
};

struct AuthConfig {
  bool required = false;
  std::vector<tezos::PublicKey> authorized_keys;
};

struct HealthConfig {
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds max_age{3000};
};

// [cluster]: the shared high watermark on a three-member etcd cluster (README "Two Pis").
struct ClusterConfig {
  bool enabled = false;                // a [cluster] section is present
  std::vector<std::string> endpoints;  // https://host:port, the local member first
  std::filesystem::path ca_file;
  std::filesystem::path cert_file;  // client certificate WITHOUT a CN: the JSON gateway refuses a CN
  std::filesystem::path key_file;
  std::string user;                                  // empty: no etcd auth
  std::optional<std::filesystem::path> password_file;
  std::string node;  // this Pi's name in the records it writes
  std::chrono::milliseconds call_timeout{1500};      // per etcd call (Grpc-Timeout)
  std::chrono::milliseconds connect_timeout{500};
  std::chrono::milliseconds budget{3000};            // per signature, before it is refused
};

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error
};

struct KeyConfig {
  std::string backend;  // "soft" | "ledger"
  int line = 0;         // where the [[key]] table starts, for later error messages
  // soft
  std::string secret_key;
  std::optional<std::filesystem::path> passphrase_file;
  bool allow_mainnet = false;  // soft keys, and ledger keys on a tcp:// (virtual) device
  // ledger: parsed once here, never re-parsed downstream
  std::string device;                                // "hid", a serial number, or "tcp://host:port"
  std::vector<std::uint32_t> path;                   // BIP32 path ("m/44'/1729'/0'/0'"), hardened bits set
  crypto::Curve curve = crypto::Curve::Ed25519;      // ed25519 | secp256k1 | p256
  tezos::PublicKeyHash pkh;                          // expected address at that path (its curve is `curve`)
  std::chrono::milliseconds timeout{3000};
  // on_cluster_unavailable = "local": sign on the local watermark alone when the cluster cannot
  // answer (a single Pi, testnets). Default "refuse".
  bool local_when_cluster_unavailable = false;
};

struct Config {
  std::string source;  // file name, for messages
  ServerConfig server;
  StoreConfig store;
  PolicyConfig policy;
  AuthConfig auth;
  HealthConfig health;
  LogConfig log;
  ClusterConfig cluster;
  UpsSection ups;        // [ups], keys in HAL_KEYS.md
  UplinkSection uplink;  // [uplink]
  std::vector<KeyConfig> keys;
};

// Errors read "FILE:LINE:COL: key: what is wrong". Besides each value, the loader refuses two Ledger
// keys that would share one device (same `device`, or "hid" beside another USB key): one worker owns
// a device, and a second key on it could not sign.
Result<Config, Error> load_file(const std::filesystem::path& path);
Result<Config, Error> parse(std::string_view text, std::string_view source_name);

// Refuses a world-readable file that holds a secret: `config.source` when a [[key]] has a
// secret_key, every passphrase_file, and the cluster's key_file and password_file. Errors name the
// file and the chmod that fixes it.
Result<void, Error> check_secret_files(const Config& config);

// Overwrites every secret_key text in `config` (sodium_memzero) once the keys are built from it.
void wipe_secrets(Config& config);

}  // namespace pisigner::config
