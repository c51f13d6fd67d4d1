#include "fake_gateway.hpp"

#include <atomic>
#include <mutex>
#include <thread>

#include <utility>  // boost 1.74 asio/awaitable.hpp uses std::exchange without including it
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace pisigner::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct FakeGateway::Impl {
  asio::io_context io;
  asio::ssl::context tls{asio::ssl::context::tls_server};
  asio::ip::tcp::acceptor acceptor{io};
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  unsigned status = 200;  // guarded by mu
  // A bare header: a valid put, status or empty range; a txn the client cannot read.
  static constexpr const char* kHeader = R"({"header":{"cluster_id":"1","member_id":"1","revision":"1","raft_term":"1"}})";
  // A status reply from a member that leads (leader = its own member_id).
  static constexpr const char* kLeaderStatus =
      R"({"header":{"cluster_id":"1","member_id":"1","revision":"1","raft_term":"1"},"leader":"1"})";
  std::string body = kHeader;  // guarded by mu
  std::atomic<int> writes{0};
  std::atomic<bool> has_leader{true};  // what its status reply says

  // One connection at a time, synchronously: the client under test is single-threaded here.
  void serve() {
    while (!stopping) {
      boost::system::error_code ec;
      asio::ip::tcp::socket socket(io);
      acceptor.accept(socket, ec);
      if (ec || stopping) return;
      asio::ssl::stream<asio::ip::tcp::socket> stream(std::move(socket), tls);
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (ec) continue;
      beast::flat_buffer buffer;
      for (;;) {
        http::request<http::string_body> req;
        http::read(stream, buffer, req, ec);
        if (ec) break;
        http::response<http::string_body> res;
        res.version(11);
        res.keep_alive(true);
        if (req.target() == "/v3/kv/txn" || req.target() == "/v3/kv/put") {
          ++writes;
          std::lock_guard lock(mu);
          res.result(status);
          res.body() = body;
        } else if (req.target() == "/v3/maintenance/status") {
          res.result(200);
          res.body() = has_leader ? kLeaderStatus : kHeader;
        } else {
          res.result(200);
          res.body() = kHeader;
        }
        res.prepare_payload();
        http::write(stream, res, ec);
        if (ec) break;
      }
    }
  }
};

FakeGateway::FakeGateway(const std::string& ca_file, const std::filesystem::path& cluster_dir)
    : impl_(std::make_unique<Impl>()) {
  impl_->tls.load_verify_file(ca_file);
  impl_->tls.use_certificate_chain_file((cluster_dir / "m0.crt").string());
  impl_->tls.use_private_key_file((cluster_dir / "m0.key").string(), asio::ssl::context::pem);
  impl_->tls.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->thread = std::thread([this] { impl_->serve(); });
}

FakeGateway::~FakeGateway() {
  impl_->stopping = true;
  boost::system::error_code ec;
  // Wake the blocking accept with a connection of our own.
  asio::ip::tcp::socket poke(impl_->io);
  poke.connect(impl_->acceptor.local_endpoint(), ec);
  poke.close(ec);
  impl_->thread.join();
}

std::string FakeGateway::url() const {
  return "https://127.0.0.1:" + std::to_string(impl_->acceptor.local_endpoint().port());
}

void FakeGateway::reply_to_writes(unsigned status, std::string body) {
  std::lock_guard lock(impl_->mu);
  impl_->status = status;
  impl_->body = std::move(body);
}

int FakeGateway::writes() const { return impl_->writes.load(); }

void FakeGateway::set_leader(bool has_leader) { impl_->has_leader = has_leader; }

}  // namespace pisigner::testing
