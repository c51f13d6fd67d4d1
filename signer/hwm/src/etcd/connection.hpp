// One keep-alive HTTPS connection to one etcd member, used by one thread at a time. Every operation
// runs on the connection's own io_context with a deadline, so a member that accepts and never
// answers costs at most that deadline.
#pragma once

#include <chrono>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/string_body.hpp>

#include "pisigner/result.hpp"

namespace pisigner::hwm::etcd {

struct Endpoint {
  std::string url;   // as configured
  std::string host;  // name or IP literal (without brackets)
  std::string port;
};
Result<Endpoint, std::string> parse_endpoint(const std::string& url);  // https://host:port only

struct HttpReply {
  unsigned status = 0;
  std::string body;
};

struct ExchangeError {
  bool sent = false;       // the request may have reached the member
  bool timed_out = false;  // the member let a deadline pass (silent, not refusing)
  std::string message;
};

class Connection {
 public:
  Connection(boost::asio::ssl::context& tls, Endpoint endpoint);
  // TCP connect + TLS handshake (the member's certificate must name `host`).
  Result<void, ExchangeError> open(std::chrono::milliseconds timeout);
  // One request/reply; `reusable()` says whether the connection may serve another.
  Result<HttpReply, ExchangeError> exchange(const boost::beast::http::request<boost::beast::http::string_body>& request,
                                            std::chrono::milliseconds timeout, std::size_t max_body);
  bool reusable() const { return reusable_; }
  const Endpoint& endpoint() const { return endpoint_; }

 private:
  template <class Start>
  boost::system::error_code run(Start&& start);
  Endpoint endpoint_;
  boost::asio::io_context io_;
  boost::asio::ssl::stream<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
  bool reusable_ = false;
};

}  // namespace pisigner::hwm::etcd
