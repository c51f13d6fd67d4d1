// Small POSIX socket helpers for the emulator's loopback servers.
#pragma once

#include <cstdint>
#include <string>

#include "pisigner/bytes.hpp"
#include "pisigner/result.hpp"

namespace pisigner::ledger::emulator {

// An owned file descriptor (closed on destruction).
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset();

 private:
  int fd_ = -1;
};

// A listening TCP socket on `address:port` (port 0 = ephemeral), SO_REUSEADDR set.
Result<Fd, Error> listen_tcp(const std::string& address, std::uint16_t port);
// The local port of a bound socket.
std::uint16_t local_port(int fd);
// Writes all of `data` with one send() call where the kernel allows (small frames always fit).
bool send_all(int fd, ByteView data);

}  // namespace pisigner::ledger::emulator
