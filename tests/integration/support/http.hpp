// A small keep-alive HTTP client for tests (Boost.Beast, loopback only, every call with a deadline).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace pisigner::testing {

struct HttpResult {
  int status = 0;  // 0: connection failed or timed out
  std::string body;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string error;  // with status 0: what failed (connect, write or read) and the system's message
};

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port, std::string host = "127.0.0.1");
  ~HttpClient();
  // Reuses the connection; reconnects if the server closed it.
  HttpResult request(const std::string& method, const std::string& target, const std::string& body = {},
                     const std::string& content_type = "application/json",
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));
  HttpResult get(const std::string& target) { return request("GET", target); }
  HttpResult post(const std::string& target, const std::string& body) { return request("POST", target, body); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pisigner::testing
