#include "client.hpp"

#include <stdexcept>

#include <utility>  // boost 1.74 asio/awaitable.hpp uses std::exchange without including it
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace pisigner::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct SignClient::Impl {
  asio::io_context io;
  tcp::socket socket{io};
  beast::flat_buffer buffer;
};

SignClient::SignClient(std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  beast::error_code ec;
  impl_->socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) throw std::runtime_error("connect to port " + std::to_string(port) + ": " + ec.message());
  impl_->socket.set_option(tcp::no_delay(true));
}

SignClient::SignClient(SignClient&&) noexcept = default;
SignClient& SignClient::operator=(SignClient&&) noexcept = default;

SignClient::~SignClient() {
  if (!impl_) return;
  beast::error_code ignored;
  impl_->socket.shutdown(tcp::socket::shutdown_both, ignored);
}

int SignClient::sign(const std::string& pkh, const std::string& payload_hex, std::string& reply) {
  bhttp::request<bhttp::string_body> req(bhttp::verb::post, "/keys/" + pkh, 11);
  req.set(bhttp::field::host, "127.0.0.1");
  req.set(bhttp::field::content_type, "application/json");
  req.keep_alive(true);
  req.body().reserve(payload_hex.size() + 2);
  req.body() += '"';
  req.body() += payload_hex;
  req.body() += '"';
  req.prepare_payload();
  beast::error_code ec;
  bhttp::write(impl_->socket, req, ec);
  if (ec) throw std::runtime_error("write: " + ec.message());
  bhttp::response<bhttp::string_body> res;
  bhttp::read(impl_->socket, impl_->buffer, res, ec);
  if (ec) throw std::runtime_error("read: " + ec.message());
  if (!res.keep_alive()) throw std::runtime_error("server closed the keep-alive connection");
  reply = std::move(res.body());
  return static_cast<int>(res.result_int());
}

}  // namespace pisigner::bench
