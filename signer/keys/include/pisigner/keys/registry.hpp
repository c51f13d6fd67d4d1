// The configured keys, looked up by pkh. Immutable after construction, so lookups need no lock.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pisigner/keys/key.hpp"

namespace pisigner::keys {

struct KeyEntry {
  std::unique_ptr<Key> key;
  bool allow_mainnet = false;  // for software keys; a hardware key is always allowed
};

// The mainnet rule: a hardware key, or a software key (soft, or a Ledger reached over tcp://) whose
// entry sets allow_mainnet.
inline bool mainnet_allowed(const KeyEntry& entry) { return entry.allow_mainnet || entry.key->hardware(); }

class Registry {
 public:
  // Fails if two entries share a pkh.
  static Result<Registry, KeyError> build(std::vector<KeyEntry> entries);
  Registry() = default;
  Registry(Registry&&) = default;
  Registry& operator=(Registry&&) = default;

  const KeyEntry* find(const tezos::PublicKeyHash& pkh) const;
  // The same by base58 text as it appears in a URL, without decoding it (only the canonical
  // spelling matches; callers that must explain a miss decode the text themselves).
  const KeyEntry* find(std::string_view pkh_b58) const;
  // The entry's pkh in base58, encoded once at build().
  const std::string& pkh_text(const KeyEntry& entry) const;
  const std::vector<KeyEntry>& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }

 private:
  std::vector<KeyEntry> entries_;
  std::map<tezos::PublicKeyHash, std::size_t> by_pkh_;
  std::vector<std::string> texts_;  // parallel to entries_
  std::map<std::string, std::size_t, std::less<>> by_text_;
};

}  // namespace pisigner::keys
