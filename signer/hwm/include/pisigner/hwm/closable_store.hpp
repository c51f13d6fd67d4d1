// A Store that can be closed while the daemon keeps running (UPS shutdown: the store must
// be closed cleanly before power-off, but /status and the health probe may still call it).
#pragma once

#include <memory>
#include <shared_mutex>

#include "pisigner/hwm/store.hpp"

namespace pisigner::hwm {

// Thread-safe. Forwards to `inner` until close(); afterwards every call fails with Code::Io
// "store closed". close() waits for calls in flight, then destroys `inner` (SQLite closed,
// directory lock released).
class ClosableStore final : public Store {
 public:
  explicit ClosableStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  void close();
  bool closed() const;

  Result<std::optional<Record>, StoreError> get(const HwmKey& key) override;
  Result<void, StoreError> put_durable(const HwmKey& key, const Record& record) override;
  Result<void, StoreError> put_signature(const HwmKey& key, const Record& record) override;
  Result<std::vector<std::pair<HwmKey, Record>>, StoreError> list() override;
  Result<void, StoreError> probe_writable() override;

 private:
  mutable std::shared_mutex mutex_;
  std::unique_ptr<Store> inner_;  // guarded by mutex_ (shared for calls, exclusive to close)
};

}  // namespace pisigner::hwm
