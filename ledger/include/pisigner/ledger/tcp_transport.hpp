// Transport over the Speculos raw APDU TCP protocol (request: u32 BE len || APDU;
// reply: u32 BE N || N data bytes || SW1 SW2). See ledger/doc/protocol.md §2.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pisigner/clock.hpp"
#include "pisigner/ledger/transport.hpp"

namespace pisigner::ledger {

struct TcpEndpoint {
  std::string host;
  std::uint16_t port = 0;
};

// Parses "tcp://host:port" (IPv6 hosts in brackets). Error message on bad input.
Result<TcpEndpoint, TransportError> parse_tcp_url(std::string_view url);

// Blocking socket with poll() deadlines on every connect, send and read. Not thread-safe.
// After any error the connection is dropped (the stream may be out of step) and the next
// exchange reconnects once. A declared N above kMaxTcpReply is a Protocol error.
class TcpTransport final : public Transport {
 public:
  static constexpr std::uint32_t kMaxTcpReply = 1024;

  // Connects within `timeout`. Disconnected when refused or unreachable.
  // `clock` measures the deadlines (poll() does the waiting).
  static Result<std::unique_ptr<TcpTransport>, TransportError> connect(const TcpEndpoint& endpoint,
                                                                       std::chrono::milliseconds timeout,
                                                                       Clock& clock = real_clock());
  static Result<std::unique_ptr<TcpTransport>, TransportError> connect(std::string_view url,
                                                                       std::chrono::milliseconds timeout,
                                                                       Clock& clock = real_clock());
  struct Private;  // construction goes through connect()
  TcpTransport(const Private&, TcpEndpoint endpoint, Clock& clock) : endpoint_(std::move(endpoint)), clock_(clock) {}
  ~TcpTransport() override;
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  Result<Reply, TransportError> exchange(const Apdu& apdu, std::chrono::milliseconds timeout) override;
  Result<void, TransportError> send(const Apdu& apdu, std::chrono::milliseconds timeout) override;
  Result<Reply, TransportError> receive(std::chrono::milliseconds timeout) override;
  std::string describe() const override;

 private:
  Result<void, TransportError> send_until(const Apdu& apdu, Clock::TimePoint deadline);
  Result<Reply, TransportError> receive_until(Clock::TimePoint deadline);
  Result<void, TransportError> open(Clock::TimePoint deadline);
  void close_socket();

  TcpEndpoint endpoint_;
  Clock& clock_;
  int fd_ = -1;
  bool awaiting_reply_ = false;  // sent, not yet received
};

}  // namespace pisigner::ledger
