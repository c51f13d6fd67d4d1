// A Transport decorator that reports every exchange (status word or error, latency).
#pragma once

#include <functional>
#include <memory>

#include "pisigner/clock.hpp"
#include "pisigner/ledger/transport.hpp"

namespace pisigner::ledger {

class ObservedTransport final : public Transport {
 public:
  // `err` is null when the device answered (with status word `sw`).
  using Observer = std::function<void(std::uint16_t sw, const TransportError* err, Clock::Duration latency)>;

  ObservedTransport(Transport& inner, Clock& clock, Observer observer)
      : inner_(inner), clock_(clock), observer_(std::move(observer)) {}

  Result<Reply, TransportError> exchange(const Apdu& apdu, std::chrono::milliseconds timeout) override;
  // A split exchange is reported once, at receive(), with the time since send() (which includes
  // whatever the host did meanwhile).
  Result<void, TransportError> send(const Apdu& apdu, std::chrono::milliseconds timeout) override;
  Result<Reply, TransportError> receive(std::chrono::milliseconds timeout) override;
  std::string describe() const override { return inner_.describe(); }

 private:
  Transport& inner_;
  Clock& clock_;
  Observer observer_;
  Clock::TimePoint sent_at_{};
  void report(const Result<Reply, TransportError>& r, Clock::TimePoint start);
};

}  // namespace pisigner::ledger
