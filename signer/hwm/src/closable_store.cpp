#include "pisigner/hwm/closable_store.hpp"

#include <mutex>

namespace pisigner::hwm {

namespace {
StoreError closed_error() { return {StoreError::Code::Io, "store closed (shutting down)"}; }
}  // namespace

void ClosableStore::close() {
  std::unique_lock lock(mutex_);
  inner_.reset();
}

bool ClosableStore::closed() const {
  std::shared_lock lock(mutex_);
  return !inner_;
}

Result<std::optional<Record>, StoreError> ClosableStore::get(const HwmKey& key) {
  std::shared_lock lock(mutex_);
  if (!inner_) return fail(closed_error());
  return inner_->get(key);
}

Result<void, StoreError> ClosableStore::put_durable(const HwmKey& key, const Record& record) {
  std::shared_lock lock(mutex_);
  if (!inner_) return fail(closed_error());
  return inner_->put_durable(key, record);
}

Result<void, StoreError> ClosableStore::put_signature(const HwmKey& key, const Record& record) {
  std::shared_lock lock(mutex_);
  if (!inner_) return fail(closed_error());
  return inner_->put_signature(key, record);
}

Result<std::vector<std::pair<HwmKey, Record>>, StoreError> ClosableStore::list() {
  std::shared_lock lock(mutex_);
  if (!inner_) return fail(closed_error());
  return inner_->list();
}

Result<void, StoreError> ClosableStore::probe_writable() {
  std::shared_lock lock(mutex_);
  if (!inner_) return fail(closed_error());
  return inner_->probe_writable();
}

}  // namespace pisigner::hwm
