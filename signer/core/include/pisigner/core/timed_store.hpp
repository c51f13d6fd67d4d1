// A Store decorator that measures durable writes (the fsync is most of a signature's cost).
#pragma once

#include "pisigner/clock.hpp"
#include "pisigner/hwm/store.hpp"
#include "pisigner/metrics/metrics.hpp"

namespace pisigner::core {

// Forwards everything to `inner`; put_durable latency goes to pisigner_store_fsync_seconds,
// failures to pisigner_store_errors_total. Thread-safe if `inner` is.
class TimedStore final : public hwm::Store {
 public:
  TimedStore(hwm::Store& inner, metrics::Registry& metrics, Clock& clock);

  Result<std::optional<hwm::Record>, hwm::StoreError> get(const hwm::HwmKey& key) override { return inner_.get(key); }
  Result<void, hwm::StoreError> put_durable(const hwm::HwmKey& key, const hwm::Record& record) override;
  Result<void, hwm::StoreError> put_signature(const hwm::HwmKey& key, const hwm::Record& record) override {
    return inner_.put_signature(key, record);
  }
  Result<std::vector<std::pair<hwm::HwmKey, hwm::Record>>, hwm::StoreError> list() override { return inner_.list(); }
  Result<void, hwm::StoreError> probe_writable() override;

 private:
  hwm::Store& inner_;
  metrics::Registry& metrics_;
  Clock& clock_;
};

}  // namespace pisigner::core
