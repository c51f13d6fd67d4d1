#include "pisigner/keys/registry.hpp"

namespace pisigner::keys {

Result<Registry, KeyError> Registry::build(std::vector<KeyEntry> entries) {
  Registry r;
  for (auto& e : entries) {
    auto pkh = e.key->pkh();
    if (r.by_pkh_.count(pkh)) {
      return fail(KeyError{KeyError::Code::Internal, "key " + pkh.to_b58() + " is configured twice"});
    }
    r.by_pkh_.emplace(pkh, r.entries_.size());
    r.by_text_.emplace(pkh.to_b58(), r.entries_.size());
    r.texts_.push_back(pkh.to_b58());
    r.entries_.push_back(std::move(e));
  }
  return r;
}

const KeyEntry* Registry::find(const tezos::PublicKeyHash& pkh) const {
  auto it = by_pkh_.find(pkh);
  return it == by_pkh_.end() ? nullptr : &entries_[it->second];
}

const KeyEntry* Registry::find(std::string_view pkh_b58) const {
  auto it = by_text_.find(pkh_b58);
  return it == by_text_.end() ? nullptr : &entries_[it->second];
}

const std::string& Registry::pkh_text(const KeyEntry& entry) const {
  return texts_[static_cast<std::size_t>(&entry - entries_.data())];
}

}  // namespace pisigner::keys
