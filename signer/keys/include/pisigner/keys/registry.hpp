// The configured keys, looked up by pkh. Immutable after construction, so lookups need no lock.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "pisigner/keys/key.hpp"

namespace pisigner::keys {

struct KeyEntry {
  std::unique_ptr<Key> key;
  bool allow_mainnet = false;  // soft keys only; ledger keys are always allowed
};

class Registry {
 public:
  // Fails if two entries share a pkh.
  static Result<Registry, KeyError> build(std::vector<KeyEntry> entries);
  Registry() = default;
  Registry(Registry&&) = default;
  Registry& operator=(Registry&&) = default;

  const KeyEntry* find(const tezos::PublicKeyHash& pkh) const;
  const std::vector<KeyEntry>& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }

 private:
  std::vector<KeyEntry> entries_;
  std::map<tezos::PublicKeyHash, std::size_t> by_pkh_;
};

}  // namespace pisigner::keys
