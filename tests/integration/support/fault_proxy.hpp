// A TCP proxy on 127.0.0.1 in front of one etcd member's client port that injects network faults.
// It forwards bytes and never terminates TLS; modes switch at run time.
//
// DropReplies makes "the request landed but the client never learned it" happen for real. A
// connection is cut at the first client byte of TLS application data (record type 23), or at the
// first client byte if the stream is not TLS (first byte is not a handshake record, 0x16). From
// its cut on, while the mode is DropReplies:
//   - every byte the client sends is still delivered to the member;
//   - every byte the member sends is dropped, and the connection stays dropping for good;
//   - kDropRepliesHold after the first dropped byte the client socket is closed (FIN), so the
//     client sees EOF and no reply; the member socket stays open (no FIN, which would make the
//     member cancel the request) until the member closes it or the proxy dies.
// Before its cut a connection is forwarded, so a fresh TLS connection completes its handshake:
// with TLS 1.2 the cut is the first request; with TLS 1.3 it is the client's second handshake
// flight, after which the client needs nothing more to send its request, and what the member sends
// next (session tickets, the reply) is dropped. The hold approximates "after the member replied":
// on a fresh TLS 1.3 connection the first dropped bytes are the session ticket, so the request
// must follow the handshake within the hold (it does for curl and Beast); the request landing is
// then up to the member, exactly as for a client whose connection breaks after sending.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

namespace pisigner::testing {

class FaultProxy {
 public:
  enum class Mode {
    Forward,      // plain proxy
    Blackhole,    // accept but pause every connection: nothing forwarded, nothing answered, nothing
                  // lost; leaving Blackhole resumes them (a healed partition)
    DropReplies,  // see above
    Refuse,       // listener closed (connect gets ECONNREFUSED), existing connections reset, like
                  // a dead member; leaving Refuse listens again on the same port
  };
  static constexpr std::chrono::milliseconds kDropRepliesHold{200};

  // Listens on 127.0.0.1:<ephemeral> and forwards to 127.0.0.1:`target_port`. Throws on failure.
  explicit FaultProxy(std::uint16_t target_port, Mode mode = Mode::Forward);
  // Closes every socket and joins the proxy thread.
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::uint16_t port() const;
  // Thread-safe; returns once the mode is in effect (the listener is closed for Refuse, etc.).
  void set_mode(Mode mode);
  Mode mode() const;

  // Counters (thread-safe, monotonic).
  std::uint64_t connections_accepted() const;
  std::uint64_t bytes_to_member() const;  // client → member, delivered
  std::uint64_t bytes_to_client() const;  // member → client, delivered
  std::uint64_t bytes_dropped() const;    // member → client, dropped by DropReplies

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pisigner::testing
