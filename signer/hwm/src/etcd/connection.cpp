#include "connection.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace pisigner::hwm::etcd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

Result<Endpoint, std::string> parse_endpoint(const std::string& url) {
  constexpr std::string_view scheme = "https://";
  if (url.rfind(scheme, 0) != 0) return fail(std::string("etcd endpoint " + url + " is not an https:// URL"));
  std::string rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  Endpoint e{url, {}, {}};
  std::size_t colon;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return fail(std::string("etcd endpoint " + url + ": expected https://[address]:port"));
    }
    e.host = rest.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = rest.rfind(':');
    if (colon == std::string::npos) return fail(std::string("etcd endpoint " + url + " has no port"));
    e.host = rest.substr(0, colon);
  }
  e.port = rest.substr(colon + 1);
  const bool digits = !e.port.empty() && e.port.size() <= 5 &&
                      e.port.find_first_not_of("0123456789") == std::string::npos && std::stoi(e.port) > 0 &&
                      std::stoi(e.port) < 65536;
  if (e.host.empty() || !digits || e.host.find_first_of("/?#@ ") != std::string::npos) {
    return fail(std::string("etcd endpoint " + url + ": expected https://host:port"));
  }
  return e;
}

Connection::Connection(asio::ssl::context& tls, Endpoint endpoint)
    : endpoint_(std::move(endpoint)), stream_(io_, tls) {}

template <class Start>
boost::system::error_code Connection::run(Start&& start) {
  boost::system::error_code result = asio::error::would_block;
  start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
  io_.restart();
  io_.run();  // the tcp_stream's deadline ends every operation
  return result;
}

Result<void, ExchangeError> Connection::open(std::chrono::milliseconds timeout) {
  auto failed = [&](const std::string& what, const boost::system::error_code& ec) {
    return fail(ExchangeError{false, ec == beast::error::timeout, endpoint_.url + ": " + what + ": " + ec.message()});
  };
  asio::ip::tcp::resolver resolver(io_);
  boost::system::error_code ec;
  auto results = resolver.resolve(endpoint_.host, endpoint_.port, asio::ip::resolver_base::numeric_service, ec);
  if (ec) return failed("resolve", ec);

  SSL* ssl = stream_.native_handle();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  boost::system::error_code not_ip;
  asio::ip::make_address(endpoint_.host, not_ip);
  if (!not_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, endpoint_.host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, endpoint_.host.c_str(), 0);
    SSL_set_tlsext_host_name(ssl, endpoint_.host.c_str());
  }

  auto& tcp = beast::get_lowest_layer(stream_);
  tcp.expires_after(timeout);
  if ((ec = run([&](auto h) { tcp.async_connect(results, h); }))) return failed("connect", ec);
  if ((ec = run([&](auto h) { stream_.async_handshake(asio::ssl::stream_base::client, h); }))) {
    return failed("TLS handshake", ec);
  }
  reusable_ = true;
  return {};
}

Result<HttpReply, ExchangeError> Connection::exchange(const http::request<http::string_body>& request,
                                                      std::chrono::milliseconds timeout, std::size_t max_body) {
  reusable_ = false;
  auto& tcp = beast::get_lowest_layer(stream_);
  tcp.expires_after(timeout);
  boost::system::error_code ec = run([&](auto h) { http::async_write(stream_, request, h); });
  // Bytes may have left even when the write failed: the member may have the whole request.
  if (ec) return fail(ExchangeError{true, ec == beast::error::timeout, endpoint_.url + ": send: " + ec.message()});
  http::response_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(max_body);
  auto too_large = [&] {
    return fail(ExchangeError{true, false, endpoint_.url + ": reply larger than " + std::to_string(max_body) + " bytes"});
  };
  // The header first: a declared length over the limit is refused before a byte of the body is
  // read (Beast 1.74's body_limit did not stop a 200 KiB Content-Length body here).
  ec = run([&](auto h) { http::async_read_header(stream_, buffer_, parser, h); });
  if (!ec && parser.content_length() && *parser.content_length() > max_body) return too_large();
  if (!ec && !parser.is_done()) ec = run([&](auto h) { http::async_read(stream_, buffer_, parser, h); });
  if (ec == http::error::body_limit || (!ec && parser.get().body().size() > max_body)) return too_large();
  if (ec) {
    const std::string what = ec == beast::error::timeout ? "no reply within " + std::to_string(timeout.count()) + " ms"
                                                         : "receive: " + ec.message();
    return fail(ExchangeError{true, ec == beast::error::timeout, endpoint_.url + ": " + what});
  }
  auto& reply = parser.get();
  reusable_ = parser.keep_alive();
  return HttpReply{reply.result_int(), std::move(reply.body())};
}

}  // namespace pisigner::hwm::etcd
