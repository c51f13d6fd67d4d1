// What a hostile client needs and a well-behaved one never does: a plain loopback TCP socket that
// sends exactly the bytes it is given (partial requests, NUL bytes, pipelines), and a reader of the
// replies that copes with a server closing on it. Every call has a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace pisigner::testing {

struct RawReply {
  int status = 0;
  std::string body;
};

class RawConn {
 public:
  // Connects to 127.0.0.1:port; ok() is false when the connection failed.
  explicit RawConn(std::uint16_t port);
  ~RawConn();
  RawConn(RawConn&& other) noexcept;
  RawConn& operator=(RawConn&& other) noexcept;
  RawConn(const RawConn&) = delete;

  bool ok() const { return fd_ >= 0; }
  // Sends all of `bytes` (false when the peer has closed or reset).
  bool send(const std::string& bytes);
  // The next reply (status line, Content-Length body), or nullopt when the connection ends first
  // or `timeout` passes.
  std::optional<RawReply> read_reply(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True once the server has closed the connection (EOF or reset), waiting at most `timeout`.
  // Bytes that arrive meanwhile are kept for read_reply.
  bool closed_by_peer(std::chrono::milliseconds timeout);

 private:
  // Reads what is available within timeout into buffer_; false on EOF, reset or timeout.
  bool fill(std::chrono::milliseconds timeout);

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

// Raises this process's RLIMIT_NOFILE soft limit to at least `want` (children inherit it).
// Returns the soft limit now in force.
std::uint64_t raise_fd_limit(std::uint64_t want);

// VmHWM (peak resident set) of `pid` in KiB, from /proc/<pid>/status; 0 if unreadable.
std::uint64_t peak_rss_kib(int pid);

}  // namespace pisigner::testing
