#include "http.hpp"

#include <optional>
#include <utility>

#include <utility>  // boost 1.74 asio/awaitable.hpp uses std::exchange without including it
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace pisigner::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

struct HttpClient::Impl {
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  std::string host;
  std::uint16_t port;
  std::string connect_error;

  static HttpResult failed(std::string what) {
    HttpResult r;
    r.error = std::move(what);
    return r;
  }

  bool connect(std::chrono::milliseconds timeout) {
    stream.emplace(io);
    beast::error_code result = asio::error::timed_out;
    stream->expires_after(timeout);
    stream->async_connect(asio::ip::tcp::endpoint(asio::ip::make_address(host), port),
                          [&](beast::error_code ec) { result = ec; });
    io.restart();
    io.run();
    buffer.clear();
    if (!result) stream->socket().set_option(asio::ip::tcp::no_delay(true));
    connect_error = result ? result.message() : "";
    return !result;
  }

  HttpResult once(const std::string& method, const std::string& target, const std::string& body,
                  const std::string& ct, std::chrono::milliseconds timeout, bool& retry) {
    retry = false;
    if (!stream && !connect(timeout)) return failed("connect: " + connect_error);
    bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
    req.set(bhttp::field::host, host);
    if (!ct.empty()) req.set(bhttp::field::content_type, ct);
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (method == "HEAD") parser.skip(true);
    beast::error_code result = asio::error::timed_out;
    const char* step = "write";
    stream->expires_after(timeout);
    bhttp::async_write(*stream, req, [&](beast::error_code ec, std::size_t) {
      if (ec) { result = ec; return; }
      step = "read";
      bhttp::async_read(*stream, buffer, parser, [&](beast::error_code ec, std::size_t) { result = ec; });
    });
    io.restart();
    io.run();
    if (result) {
      const bool stale = result == bhttp::error::end_of_stream || result == asio::error::connection_reset ||
                         result == asio::error::broken_pipe || result == asio::error::eof;
      stream.reset();
      retry = stale;
      return failed(std::string(step) + ": " + result.message());
    }
    HttpResult r;
    r.status = static_cast<int>(parser.get().result_int());
    r.body = parser.get().body();
    for (const auto& f : parser.get()) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(f.value());
    }
    if (!parser.get().keep_alive()) stream.reset();
    return r;
  }
};

HttpClient::HttpClient(std::uint16_t port, std::string host) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
}

HttpClient::~HttpClient() = default;

HttpResult HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                               const std::string& content_type, std::chrono::milliseconds timeout) {
  bool retry = false;
  auto r = impl_->once(method, target, body, content_type, timeout, retry);
  if (retry) r = impl_->once(method, target, body, content_type, timeout, retry);
  return r;
}

}  // namespace pisigner::testing
