#include "observed_transport.hpp"

namespace pisigner::ledger {

Result<Reply, TransportError> ObservedTransport::exchange(const Apdu& apdu, std::chrono::milliseconds timeout) {
  const auto start = clock_.now();
  auto r = inner_.exchange(apdu, timeout);
  report(r, start);
  return r;
}

Result<void, TransportError> ObservedTransport::send(const Apdu& apdu, std::chrono::milliseconds timeout) {
  sent_at_ = clock_.now();
  auto r = inner_.send(apdu, timeout);
  if (!r) observer_(0, &r.error(), clock_.now() - sent_at_);
  return r;
}

Result<Reply, TransportError> ObservedTransport::receive(std::chrono::milliseconds timeout) {
  auto r = inner_.receive(timeout);
  report(r, sent_at_);
  return r;
}

void ObservedTransport::report(const Result<Reply, TransportError>& r, Clock::TimePoint start) {
  const auto latency = clock_.now() - start;
  if (r) {
    observer_(r->sw, nullptr, latency);
  } else {
    observer_(0, &r.error(), latency);
  }
}

}  // namespace pisigner::ledger
