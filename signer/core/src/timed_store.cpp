#include "pisigner/core/timed_store.hpp"

namespace pisigner::core {

TimedStore::TimedStore(hwm::Store& inner, metrics::Registry& metrics, Clock& clock)
    : inner_(inner), metrics_(metrics), clock_(clock) {
  metrics_.declare_histogram("pisigner_store_fsync_seconds", "Latency of durable high-watermark writes.",
                             metrics::latency_buckets());
  metrics_.declare_counter("pisigner_store_errors_total", "Failed high-watermark store writes.");
}

Result<void, hwm::StoreError> TimedStore::put_durable(const hwm::HwmKey& key, const hwm::Record& record) {
  const auto start = clock_.now();
  auto r = inner_.put_durable(key, record);
  metrics_.observe("pisigner_store_fsync_seconds", std::chrono::duration<double>(clock_.now() - start).count());
  if (!r) metrics_.inc("pisigner_store_errors_total", {{"op", "put_durable"}});
  return r;
}

Result<void, hwm::StoreError> TimedStore::probe_writable() {
  auto r = inner_.probe_writable();
  if (!r) metrics_.inc("pisigner_store_errors_total", {{"op", "probe"}});
  return r;
}

}  // namespace pisigner::core
