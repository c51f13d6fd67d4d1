// The HTTP server (Boost.Beast): keep-alive, body cap, header and idle deadlines, a connection cap.
// I/O threads never run a blocking request: Handler::blocking requests go to a separate worker pool,
// so /authorized and /metrics answer while a device is slow or hung. An exception from the handler
// (or a tick) is logged and answered 500; it never ends a thread or the process.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pisigner/http/router.hpp"
#include "pisigner/result.hpp"

namespace pisigner::http {

struct ServerOptions {
  std::vector<std::string> listen{"127.0.0.1:6732"};  // "host:port", "[v6]:port"; port 0 = ephemeral
  std::size_t body_limit = 64 * 1024;
  std::chrono::seconds header_timeout{10};  // to receive a whole request once bytes start flowing
  std::chrono::seconds idle_timeout{60};    // keep-alive connection with no request
  int io_threads = 8;  // one io_context and thread each; connections dealt round-robin (the listeners have their own)
  int sign_threads = 8;
  // Open connections. At the cap a waiting client takes the place of the connection whose request
  // has been arriving for longest (a slow sender), else of the longest-idle keep-alive connection;
  // with neither, accepting pauses (the kernel backlog holds the rest) until one closes.
  // With several listen addresses the count may pass the cap by one per extra address.
  int max_connections = 256;
  // At the cap, connections closed to make room: at most this many a second (a tenth of a second's
  // worth at once). Bounds the accept-and-close churn a slowloris beyond the cap can cause; a new
  // client meanwhile waits behind the backlog ahead of it, at this rate.
  int room_per_second = 1000;
};

// Counters since start(); any thread.
struct ServerStats {
  int open_connections = 0;
  std::uint64_t accept_errors = 0;   // failed accepts (each followed by a backoff)
  std::uint64_t evicted = 0;         // slow or idle connections closed to make room under the cap
  std::uint64_t room_deferrals = 0;  // times making room waited for room_per_second
  std::uint64_t handler_errors = 0;  // exceptions caught from the handler, after_send or a tick
};

class Server {
 public:
  Server(Handler& handler, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every listen address and starts the threads. Fails (naming the address) if any bind fails.
  Result<void, Error> start();
  // Actual bound ports, in listen order (useful with port 0).
  std::vector<std::uint16_t> ports() const;
  // Runs `fn` every `period` on an I/O thread (the systemd watchdog proves the loop is alive this way).
  void every(std::chrono::milliseconds period, std::function<void()> fn);
  ServerStats stats() const;
  // Stops accepting, closes connections, joins threads. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses "127.0.0.1:6732" / "[::1]:6732" / "localhost:6732".
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};
Result<Endpoint, Error> parse_endpoint(const std::string& text);

}  // namespace pisigner::http
