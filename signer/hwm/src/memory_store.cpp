// The in-memory Store: the SQLite store's semantics without I/O.
#include <map>
#include <mutex>

#include "pisigner/hwm/store.hpp"

namespace pisigner::hwm {
namespace {

class MemoryStore final : public Store {
 public:
  Result<std::optional<Record>, StoreError> get(const HwmKey& key) override {
    std::lock_guard lock(mu_);
    auto it = records_.find(key);
    if (it == records_.end()) return std::optional<Record>{};
    return std::optional<Record>{it->second};
  }

  Result<void, StoreError> put_durable(const HwmKey& key, const Record& record) override {
    std::lock_guard lock(mu_);
    records_[key] = record;
    return {};
  }

  Result<void, StoreError> put_signature(const HwmKey& key, const Record& record) override {
    std::lock_guard lock(mu_);
    auto it = records_.find(key);
    if (it == records_.end() || it->second.level != record.level || it->second.round != record.round ||
        it->second.hash != record.hash) {
      return fail(StoreError{StoreError::Code::Invalid, "memory HWM store: no record at that level and round to "
                                                        "attach the signature to"});
    }
    it->second.signature = record.signature;
    return {};
  }

  Result<std::vector<std::pair<HwmKey, Record>>, StoreError> list() override {
    std::lock_guard lock(mu_);
    return std::vector<std::pair<HwmKey, Record>>(records_.begin(), records_.end());
  }

  Result<void, StoreError> probe_writable() override { return {}; }

 private:
  std::mutex mu_;
  std::map<HwmKey, Record> records_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<Store> make_memory_store() { return std::make_unique<MemoryStore>(); }

}  // namespace pisigner::hwm
