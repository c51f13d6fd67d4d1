#include "http_client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace pisigner::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

Result<HttpReply, Error> http_request(const std::string& method, const std::string& url, const std::string& body,
                                      std::chrono::milliseconds timeout) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return fail(Error{"url must start with http:// : " + url});
  std::string rest = url.substr(kScheme.size());
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string host = hostport, port = "80";
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') port = hostport.substr(close + 2);
  } else if (auto colon = hostport.rfind(':'); colon != std::string::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }

  asio::io_context io;
  beast::tcp_stream stream(io);
  bhttp::request<bhttp::string_body> req(method == "POST" ? bhttp::verb::post : bhttp::verb::get, target, 11);
  req.set(bhttp::field::host, hostport);
  req.set(bhttp::field::user_agent, "pisignerctl");
  if (method == "POST") {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  beast::error_code result;

  asio::ip::tcp::resolver resolver(io);
  stream.expires_after(timeout);
  resolver.async_resolve(host, port, [&](beast::error_code ec, asio::ip::tcp::resolver::results_type results) {
    if (ec) { result = ec; return; }
    stream.async_connect(results, [&](beast::error_code ec, auto) {
      if (ec) { result = ec; return; }
      bhttp::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
        if (ec) { result = ec; return; }
        bhttp::async_read(stream, buffer, parser, [&](beast::error_code ec, std::size_t) { result = ec; });
      });
    });
  });
  io.run_for(timeout + std::chrono::milliseconds(100));
  if (!io.stopped()) return fail(Error{"timed out talking to " + hostport});
  if (result) return fail(Error{"cannot reach " + hostport + ": " + result.message()});
  return HttpReply{static_cast<int>(parser.get().result_int()), parser.get().body()};
}

}  // namespace pisigner::daemon
