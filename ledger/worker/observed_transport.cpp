#include "observed_transport.hpp"

namespace pisigner::ledger {

Result<Reply, TransportError> ObservedTransport::exchange(const Apdu& apdu, std::chrono::milliseconds timeout) {
  const auto start = clock_.now();
  auto r = inner_.exchange(apdu, timeout);
  const auto latency = clock_.now() - start;
  if (r) {
    observer_(r->sw, nullptr, latency);
  } else {
    observer_(0, &r.error(), latency);
  }
  return r;
}

}  // namespace pisigner::ledger
