// A blocking keep-alive HTTP/1.1 client for one loopback connection, as lean as the baseline server,
// so client cost is small and the same for every server measured. Not thread-safe: one per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace pisigner::bench {

class SignClient {
 public:
  // Connects to 127.0.0.1:`port` (TCP_NODELAY); throws std::runtime_error on failure.
  explicit SignClient(std::uint16_t port);
  ~SignClient();
  SignClient(SignClient&&) noexcept;
  SignClient& operator=(SignClient&&) noexcept;
  // POST /keys/<pkh> with body "\"<hex>\"" (application/json); returns the HTTP status and stores
  // the body in `reply`. Throws on a connection error (the benchmark is void then).
  int sign(const std::string& pkh, const std::string& payload_hex, std::string& reply);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pisigner::bench
