#include "pisigner/config/config.hpp"

#include <charconv>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <toml++/toml.h>

#include "pisigner/crypto/curve.hpp"
#include "pisigner/crypto/hd.hpp"
#include "pisigner/tezos/keys.hpp"
#include "hal_sections.hpp"
#include "secret_text.hpp"

namespace pisigner::config {

namespace {

// Thrown inside the loader only; load_file/parse turn it into an Error value.
struct ConfigFailure {
  std::string message;
};

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void error(const toml::node* node, const std::string& key, const std::string& what) const {
    std::ostringstream s;
    s << source_;
    if (node && node->source().begin.line) s << ':' << node->source().begin.line << ':' << node->source().begin.column;
    s << ": " << key << ": " << what;
    throw ConfigFailure{s.str()};
  }

  // Every key in `table` must be one of `allowed`.
  void only(const toml::table& table, const std::string& prefix, std::initializer_list<std::string_view> allowed) const {
    for (auto&& [k, v] : table) {
      bool ok = false;
      for (auto a : allowed) ok = ok || k.str() == a;
      if (!ok) {
        std::string names;
        for (auto a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
        error(&v, prefix + std::string(k.str()), "unknown key (expected one of: " + names + ")");
      }
    }
  }

  const toml::table* table(const toml::table& parent, std::string_view key, const std::string& path) const {
    const toml::node* n = parent.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) error(n, path, "must be a table");
    return n->as_table();
  }

  void get(const toml::table& t, std::string_view key, const std::string& path, bool& out) const {
    if (const toml::node* n = t.get(key)) {
      if (!n->is_boolean()) error(n, path, "must be true or false");
      out = n->as_boolean()->get();
    }
  }
  void get(const toml::table& t, std::string_view key, const std::string& path, std::string& out) const {
    if (const toml::node* n = t.get(key)) {
      if (!n->is_string()) error(n, path, "must be a string");
      out = n->as_string()->get();
    }
  }
  std::int64_t integer(const toml::table& t, std::string_view key, const std::string& path, std::int64_t fallback,
                       std::int64_t lo, std::int64_t hi) const {
    const toml::node* n = t.get(key);
    if (!n) return fallback;
    if (!n->is_integer()) error(n, path, "must be an integer");
    auto v = n->as_integer()->get();
    if (v < lo || v > hi) error(n, path, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return v;
  }
  std::vector<std::string> strings(const toml::table& t, std::string_view key, const std::string& path,
                                   std::vector<std::string> fallback) const {
    const toml::node* n = t.get(key);
    if (!n) return fallback;
    if (!n->is_array()) error(n, path, "must be an array of strings");
    std::vector<std::string> out;
    for (const auto& item : *n->as_array()) {
      if (!item.is_string()) error(&item, path, "must be an array of strings");
      out.push_back(item.as_string()->get());
    }
    return out;
  }
  const toml::node* node(const toml::table& t, std::string_view key) const { return t.get(key); }

 private:
  std::string source_;
};

std::uint8_t parse_magic(const Reader& r, const toml::node* n, const std::string& text) {
  // Like octez's -M (OCaml int_of_string): decimal, or 0x/0o/0b prefixed; a leading 0 alone is
  // still decimal ("017" is 17), unlike C's strtoul.
  int base = 10;
  std::string_view digits = text;
  if (digits.size() > 2 && digits[0] == '0') {
    const char p = static_cast<char>(std::tolower(static_cast<unsigned char>(digits[1])));
    base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 10;
    if (base != 10) digits.remove_prefix(2);
  }
  unsigned v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || v > 255) {
    r.error(n, "policy.magic_bytes", "'" + text + "' is not a byte (0x00-0xFF)");
  }
  return static_cast<std::uint8_t>(v);
}

// One device worker owns a Ledger; a second key on the same device would have its signatures
// thrown away, so the config is refused. "hid" takes the first Ledger found, which may be the one
// another key names by serial; tcp:// devices are separate emulators and only clash by address.
void check_device_free(const Reader& r, const std::vector<KeyConfig>& earlier, const KeyConfig& k, const toml::table& t,
                       const std::string& p) {
  auto usb = [](const std::string& device) { return device.rfind("tcp://", 0) != 0; };
  for (const auto& other : earlier) {
    if (other.backend != "ledger") continue;
    const bool clash = other.device == k.device || (usb(k.device) && usb(other.device) && (k.device == "hid" || other.device == "hid"));
    if (!clash) continue;
    r.error(t.get("device") ? t.get("device") : &t, p + "device",
            "\"" + k.device + "\" may be the same Ledger as the key at line " + std::to_string(other.line) + " (device \"" +
                other.device + "\"): one key per device; with several Ledgers, name each by its serial number");
  }
}

void parse_cluster(const Reader& r, const toml::table& t, ClusterConfig& c) {
  r.only(t, "cluster.", {"endpoints", "ca_file", "cert_file", "key_file", "user", "password_file", "node",
                         "call_timeout_ms", "connect_timeout_ms", "budget_ms"});
  c.enabled = true;
  c.endpoints = r.strings(t, "endpoints", "cluster.endpoints", {});
  if (c.endpoints.empty()) r.error(r.node(t, "endpoints") ? r.node(t, "endpoints") : &t, "cluster.endpoints", "needs the etcd members' https://host:port URLs");
  for (const auto& e : c.endpoints) {
    const auto colon = e.rfind(':');
    const bool ok = e.rfind("https://", 0) == 0 && colon != std::string::npos && colon > 8 && colon + 1 < e.size() &&
                    e.find_first_not_of("0123456789", colon + 1) == std::string::npos;
    if (!ok) r.error(r.node(t, "endpoints"), "cluster.endpoints", "'" + e + "' must be https://host:port");
  }
  auto path = [&](const char* key, std::filesystem::path& out, bool required) {
    std::string v;
    r.get(t, key, std::string("cluster.") + key, v);
    if (v.empty() && required) r.error(r.node(t, key) ? r.node(t, key) : &t, std::string("cluster.") + key, "is required");
    out = v;
  };
  path("ca_file", c.ca_file, true);
  path("cert_file", c.cert_file, true);
  path("key_file", c.key_file, true);
  r.get(t, "user", "cluster.user", c.user);
  std::filesystem::path pw;
  path("password_file", pw, false);
  if (!pw.empty()) c.password_file = pw;
  if (c.user.empty() != !c.password_file) {
    r.error(r.node(t, c.user.empty() ? "password_file" : "user") , "cluster.user", "user and password_file go together");
  }
  r.get(t, "node", "cluster.node", c.node);
  const bool node_ok = !c.node.empty() && c.node.size() <= 64 &&
                       c.node.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == std::string::npos;
  if (!node_ok) r.error(r.node(t, "node") ? r.node(t, "node") : &t, "cluster.node", "must name this Pi (letters, digits, . _ -; at most 64)");
  c.call_timeout = std::chrono::milliseconds(r.integer(t, "call_timeout_ms", "cluster.call_timeout_ms", 1500, 100, 60000));
  c.connect_timeout = std::chrono::milliseconds(r.integer(t, "connect_timeout_ms", "cluster.connect_timeout_ms", 500, 50, 60000));
  c.budget = std::chrono::milliseconds(r.integer(t, "budget_ms", "cluster.budget_ms", 3000, 100, 600000));
  if (c.budget < c.call_timeout) r.error(r.node(t, "budget_ms"), "cluster.budget_ms", "must be at least cluster.call_timeout_ms");
}

Config build(const toml::table& root, const std::string& source) {
  Reader r(source);
  Config c;
  c.source = source;
  r.only(root, "", {"server", "store", "policy", "auth", "health", "log", "cluster", "key", "ups", "uplink"});

  if (auto* t = r.table(root, "server", "server")) {
    r.only(*t, "server.", {"listen", "admin_listen", "health_listen", "known_keys", "io_threads", "sign_threads", "body_limit", "header_timeout_s", "idle_timeout_s", "max_connections"});
    c.server.listen = r.strings(*t, "listen", "server.listen", c.server.listen);
    if (c.server.listen.empty()) r.error(r.node(*t, "listen"), "server.listen", "needs at least one address");
    for (const auto& l : c.server.listen) {
      if (l.find(':') == std::string::npos) r.error(r.node(*t, "listen"), "server.listen", "'" + l + "' must be host:port");
    }
    c.server.admin_listen = r.strings(*t, "admin_listen", "server.admin_listen", c.server.admin_listen);
    for (const auto& l : c.server.admin_listen) {
      if (l.find(':') == std::string::npos) r.error(r.node(*t, "admin_listen"), "server.admin_listen", "'" + l + "' must be host:port");
    }
    c.server.health_listen = r.strings(*t, "health_listen", "server.health_listen", c.server.health_listen);
    for (const auto& l : c.server.health_listen) {
      if (l.find(':') == std::string::npos) r.error(r.node(*t, "health_listen"), "server.health_listen", "'" + l + "' must be host:port");
    }
    r.get(*t, "known_keys", "server.known_keys", c.server.known_keys);
    c.server.io_threads = static_cast<int>(r.integer(*t, "io_threads", "server.io_threads", 8, 1, 64));
    c.server.sign_threads = static_cast<int>(r.integer(*t, "sign_threads", "server.sign_threads", 8, 1, 256));
    c.server.body_limit = static_cast<std::size_t>(r.integer(*t, "body_limit", "server.body_limit", 65536, 1024, 1 << 20));
    c.server.header_timeout = std::chrono::seconds(r.integer(*t, "header_timeout_s", "server.header_timeout_s", 10, 1, 3600));
    c.server.idle_timeout = std::chrono::seconds(r.integer(*t, "idle_timeout_s", "server.idle_timeout_s", 60, 1, 86400));
    // At most 1024, so the unit's LimitNOFILE=2048 always leaves room for the store, devices and buses.
    c.server.max_connections = static_cast<int>(r.integer(*t, "max_connections", "server.max_connections", 256, 1, 1024));
  }
  if (auto* t = r.table(root, "store", "store")) {
    r.only(*t, "store.", {"path"});
    std::string p = c.store.path.string();
    r.get(*t, "path", "store.path", p);
    if (p.empty()) r.error(r.node(*t, "path"), "store.path", "must not be empty");
    c.store.path = p;
  }
  if (auto* t = r.table(root, "policy", "policy")) {
    r.only(*t, "policy.", {"magic_bytes", "chains", "max_chains_per_key", "max_level_jump"});
    if (const toml::node* n = r.node(*t, "magic_bytes")) {
      c.policy.magic_bytes.clear();
      for (const auto& s : r.strings(*t, "magic_bytes", "policy.magic_bytes", {})) {
        c.policy.magic_bytes.insert(parse_magic(r, n, s));
      }
    }
    for (const auto& ch : r.strings(*t, "chains", "policy.chains", {})) {
      auto id = tezos::ChainId::parse(ch);
      if (!id) r.error(r.node(*t, "chains"), "policy.chains", "'" + ch + "': " + id.error().message);
      c.policy.chains.push_back(*id);
    }
    c.policy.max_chains_per_key = static_cast<std::size_t>(
        r.integer(*t, "max_chains_per_key", "policy.max_chains_per_key", 4, 0, 1000));
    if (r.node(*t, "max_level_jump")) {
      c.policy.max_level_jump =
          static_cast<std::int32_t>(r.integer(*t, "max_level_jump", "policy.max_level_jump", 0, 1, 1 << 30));
    }
  }
  if (auto* t = r.table(root, "auth", "auth")) {
    r.only(*t, "auth.", {"required", "authorized_keys"});
    r.get(*t, "required", "auth.required", c.auth.required);
    for (const auto& k : r.strings(*t, "authorized_keys", "auth.authorized_keys", {})) {
      auto pk = tezos::PublicKey::parse(k);
      if (!pk) r.error(r.node(*t, "authorized_keys"), "auth.authorized_keys", "'" + k + "': " + pk.error().message);
      c.auth.authorized_keys.push_back(std::move(pk).value());
    }
    if (c.auth.required && c.auth.authorized_keys.empty()) {
      r.error(r.node(*t, "required"), "auth.required", "is true but auth.authorized_keys is empty");
    }
  }
  if (auto* t = r.table(root, "health", "health")) {
    r.only(*t, "health.", {"interval_ms", "max_age_ms"});
    c.health.interval = std::chrono::milliseconds(r.integer(*t, "interval_ms", "health.interval_ms", 1000, 50, 60000));
    c.health.max_age = std::chrono::milliseconds(
        r.integer(*t, "max_age_ms", "health.max_age_ms", 3 * c.health.interval.count(), c.health.interval.count(), 600000));
  }
  if (auto* t = r.table(root, "log", "log")) {
    r.only(*t, "log.", {"level"});
    r.get(*t, "level", "log.level", c.log.level);
    static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error"};
    if (!kLevels.count(c.log.level)) r.error(r.node(*t, "level"), "log.level", "must be one of trace, debug, info, warn, error");
  }
  if (auto* t = r.table(root, "cluster", "cluster")) parse_cluster(r, *t, c.cluster);
  if (auto hal = parse_hal_sections(root, source, c.ups, c.uplink); !hal) throw ConfigFailure{hal.error().message};
  if (const toml::node* n = root.get("key")) {
    if (!n->is_array_of_tables()) r.error(n, "key", "must be written as [[key]] tables");
    int index = 0;
    for (const auto& item : *n->as_array()) {
      const auto& t = *item.as_table();
      const std::string p = "key[" + std::to_string(index++) + "].";
      KeyConfig k;
      k.line = static_cast<int>(t.source().begin.line);
      r.get(t, "backend", p + "backend", k.backend);
      if (k.backend == "soft") {
        r.only(t, p, {"backend", "secret_key", "passphrase_file", "allow_mainnet", "on_cluster_unavailable"});
        r.get(t, "secret_key", p + "secret_key", k.secret_key);
        if (k.secret_key.empty()) r.error(&t, p + "secret_key", "is required for backend = \"soft\"");
        std::string pf;
        r.get(t, "passphrase_file", p + "passphrase_file", pf);
        if (!pf.empty()) k.passphrase_file = pf;
        r.get(t, "allow_mainnet", p + "allow_mainnet", k.allow_mainnet);
        if (k.secret_key.rfind("encrypted:", 0) == 0 && !k.passphrase_file) {
          r.error(r.node(t, "secret_key"), p + "secret_key", "is encrypted; set passphrase_file");
        }
      } else if (k.backend == "ledger") {
        r.only(t, p, {"backend", "device", "path", "curve", "pkh", "timeout_ms", "allow_mainnet", "on_cluster_unavailable"});
        r.get(t, "allow_mainnet", p + "allow_mainnet", k.allow_mainnet);
        std::string path, curve = "ed25519", pkh_text;
        r.get(t, "device", p + "device", k.device);
        r.get(t, "path", p + "path", path);
        r.get(t, "curve", p + "curve", curve);
        r.get(t, "pkh", p + "pkh", pkh_text);
        k.timeout = std::chrono::milliseconds(r.integer(t, "timeout_ms", p + "timeout_ms", 3000, 100, 600000));
        if (k.device.empty()) k.device = "hid";
        if (path.empty()) r.error(&t, p + "path", "is required for backend = \"ledger\"");
        auto parsed_path = crypto::parse_path(path);
        if (!parsed_path) r.error(r.node(t, "path"), p + "path", parsed_path.error().message);
        k.path = std::move(*parsed_path);
        if (curve == "ed25519") k.curve = crypto::Curve::Ed25519;
        else if (curve == "secp256k1") k.curve = crypto::Curve::Secp256k1;
        else if (curve == "p256") k.curve = crypto::Curve::P256;
        else r.error(r.node(t, "curve"), p + "curve", "must be ed25519, secp256k1 or p256");
        if (pkh_text.empty()) r.error(&t, p + "pkh", "is required: the address expected at that path");
        auto pkh = tezos::PublicKeyHash::parse(pkh_text);
        if (!pkh) r.error(r.node(t, "pkh"), p + "pkh", pkh.error().message);
        if (pkh->curve != k.curve) {
          r.error(r.node(t, "pkh"), p + "pkh", "is a " + std::string(crypto::curve_name(pkh->curve)) +
                                                   " address, but curve is \"" + curve + "\"");
        }
        k.pkh = *pkh;
        check_device_free(r, c.keys, k, t, p);
      } else {
        r.error(t.get("backend") ? t.get("backend") : &t, p + "backend", "must be \"soft\" or \"ledger\"");
      }
      std::string when = "refuse";
      r.get(t, "on_cluster_unavailable", p + "on_cluster_unavailable", when);
      if (when != "refuse" && when != "local") {
        r.error(r.node(t, "on_cluster_unavailable"), p + "on_cluster_unavailable", "must be \"refuse\" or \"local\"");
      }
      if (when == "local" && !c.cluster.enabled) {
        r.error(r.node(t, "on_cluster_unavailable"), p + "on_cluster_unavailable", "needs a [cluster] section");
      }
      k.local_when_cluster_unavailable = when == "local";
      c.keys.push_back(std::move(k));
    }
  }
  if (c.keys.empty()) r.error(nullptr, "key", "no [[key]] configured: the signer would have nothing to sign with");
  return c;
}

}  // namespace

Result<Config, Error> parse(std::string_view text, std::string_view source_name) {
  try {
    toml::table root = toml::parse(text, source_name);
    WipeSecretNodes wipe(root);  // the parsed secret_key strings are overwritten when `root` goes
    return build(root, std::string(source_name));
  } catch (const toml::parse_error& e) {
    std::ostringstream s;
    s << source_name << ':' << e.source().begin.line << ':' << e.source().begin.column << ": " << e.description();
    return fail(Error{s.str()});
  } catch (const ConfigFailure& e) {
    return fail(Error{e.message});
  }
}

Result<Config, Error> load_file(const std::filesystem::path& path) {
  auto text = read_secret_file(path);
  if (!text) return fail(Error{path.string() + ": cannot read configuration file"});
  return parse(text->view(), path.string());
}

}  // namespace pisigner::config
