#include "key_loader.hpp"

#include <set>

#include "ledger_keys.hpp"
#include "pisigner/config/secret_text.hpp"
#include "pisigner/keys/soft_key.hpp"
#include "pisigner/tezos/keys.hpp"

namespace pisigner::daemon {

namespace {

std::string where(const config::Config& cfg, const config::KeyConfig& k) {
  return cfg.source + ":" + std::to_string(k.line) + ": [[key]]";
}

// The passphrase lives in wiped memory only, and is overwritten once the key is decoded.
Result<config::SecretText, Error> read_passphrase(const std::filesystem::path& file) {
  auto text = config::read_secret_file(file);
  if (!text) return fail(Error{"cannot read passphrase_file " + file.string()});
  std::string& s = text->mutable_text();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return std::move(*text);
}

Result<keys::KeyEntry, Error> load_soft(const config::Config& cfg, const config::KeyConfig& k) {
  std::optional<config::SecretText> passphrase;
  if (k.passphrase_file) {
    auto p = read_passphrase(*k.passphrase_file);
    if (!p) return fail(Error{where(cfg, k) + ": " + p.error().message});
    passphrase = std::move(*p);
  }
  auto key = keys::SoftKey::load(k.secret_key, passphrase ? std::optional<std::string_view>(passphrase->view()) : std::nullopt);
  if (!key) return fail(Error{where(cfg, k) + ": secret_key: " + key.error().message});
  return keys::KeyEntry{std::move(key).value(), k.allow_mainnet};
}

}  // namespace

Result<void, Error> check_keys(const config::Config& cfg) {
  std::set<std::string> seen;
  for (const auto& k : cfg.keys) {
    std::string pkh;
    if (k.backend == "soft") {
      auto e = load_soft(cfg, k);
      if (!e) return fail(e.error());
      pkh = e->key->pkh().to_b58();
    } else {
      pkh = k.pkh.to_b58();  // a Ledger key's address is in the config
    }
    if (!seen.insert(pkh).second) return fail(Error{where(cfg, k) + ": key " + pkh + " is configured twice"});
  }
  return {};
}

Result<LoadedKeys, Error> load_keys(const config::Config& cfg, Clock& clock, health::Health& health,
                                    metrics::Registry& metrics) {
  std::vector<keys::KeyEntry> entries;
  std::unique_ptr<LedgerRuntime> ledgers;
  for (const auto& k : cfg.keys) {
    if (k.backend == "soft") {
      auto e = load_soft(cfg, k);
      if (!e) return fail(e.error());
      entries.push_back(std::move(e).value());
    } else if (k.backend == "ledger") {
      if (!ledgers) ledgers = std::make_unique<LedgerRuntime>(clock, health, metrics);
      auto key = ledgers->add_key(cfg, k);
      if (!key) return fail(key.error());
      entries.push_back(keys::KeyEntry{std::move(key).value(), k.allow_mainnet});
    } else {
      return fail(Error{where(cfg, k) + ": backend \"" + k.backend + "\" is not available in this build"});
    }
  }
  auto registry = keys::Registry::build(std::move(entries));
  if (!registry) return fail(Error{cfg.source + ": " + registry.error().message});
  if (ledgers) ledgers->start();
  return LoadedKeys{std::move(registry).value(), std::move(ledgers)};
}

}  // namespace pisigner::daemon
