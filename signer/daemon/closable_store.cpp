#include "closable_store.hpp"

#include <mutex>

namespace pisigner::daemon {

namespace {
hwm::StoreError closed_error() { return {hwm::StoreError::Code::Io, "store closed (shutting down)"}; }
}  // namespace

void ClosableStore::close() {
  std::unique_lock lock(mutex_);
  inner_.reset();
}

bool ClosableStore::closed() const {
  std::shared_lock lock(mutex_);
  return !inner_;
}

Result<std::optional<hwm::Record>, hwm::StoreError> ClosableStore::get(const hwm::HwmKey& key) {
  std::shared_lock lock(mutex_);
  if (!inner_) return fail(closed_error());
  return inner_->get(key);
}

Result<void, hwm::StoreError> ClosableStore::put_durable(const hwm::HwmKey& key, const hwm::Record& record) {
  std::shared_lock lock(mutex_);
  if (!inner_) return fail(closed_error());
  return inner_->put_durable(key, record);
}

Result<void, hwm::StoreError> ClosableStore::put_signature(const hwm::HwmKey& key, const hwm::Record& record) {
  std::shared_lock lock(mutex_);
  if (!inner_) return fail(closed_error());
  return inner_->put_signature(key, record);
}

Result<std::vector<std::pair<hwm::HwmKey, hwm::Record>>, hwm::StoreError> ClosableStore::list() {
  std::shared_lock lock(mutex_);
  if (!inner_) return fail(closed_error());
  return inner_->list();
}

Result<void, hwm::StoreError> ClosableStore::probe_writable() {
  std::shared_lock lock(mutex_);
  if (!inner_) return fail(closed_error());
  return inner_->probe_writable();
}

}  // namespace pisigner::daemon
