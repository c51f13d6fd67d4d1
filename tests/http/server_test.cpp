// The Beast server on 127.0.0.1 (ephemeral port) with a Boost.Beast client: keep-alive, body cap,
// header deadline, many connections, health answers while a sign blocks, prompt stop(), handler
// exceptions answered 500. The connection cap is in server_cap_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "server_stack.hpp"

namespace pisigner::http {
namespace {

using namespace server_testing;

TEST(Server, KeepAliveServesSeveralRequestsOnOneConnection) {
  Stack s;
  Client c(s.port);
  beast::error_code ec;
  auto h = c.request("GET", "/healthz", "", ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(h.result_int(), 200);
  EXPECT_TRUE(h.keep_alive());
  auto head = c.request("HEAD", "/keys/" + std::string(test::kB1Pkh), "", ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_TRUE(head.body().empty());
  for (int level = 1; level <= 3; ++level) {
    auto r = c.request("POST", sign_target(*s.key) + "?version=2", body_of(test::attestation(level, 0)), ec);
    ASSERT_FALSE(ec) << "request " << level << ": " << ec.message();
    EXPECT_EQ(r.result_int(), 200) << r.body();
    EXPECT_NE(r.body().find("edsig"), std::string::npos);
  }
  auto pk = c.request("GET", "/keys/" + std::string(test::kB1Pkh), "", ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(pk.body(), R"({"public_key":")" + std::string(test::kB1Pk) + R"("})");
  EXPECT_EQ(s.key->calls(), 3);
}

// Requests sent back to back in one write (pipelined, or a client that wrote headers and body and
// the next request at once) are each parsed from the buffer and answered in order.
TEST(Server, PipelinedRequestsInOneWriteAreAnsweredInOrder) {
  Stack s;
  Client c(s.port);
  std::string bytes;
  for (int level = 1; level <= 3; ++level) {
    const std::string body = body_of(test::attestation(level, 0));
    bytes += "POST " + sign_target(*s.key) + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  bytes += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_FALSE(c.write_raw(bytes));
  for (int i = 0; i < 3; ++i) {
    beast::error_code ec;
    auto r = c.read_response(ec, 10000ms);
    ASSERT_FALSE(ec) << "reply " << i << ": " << ec.message();
    EXPECT_EQ(r.result_int(), 200) << r.body();
    EXPECT_FALSE(signature_of(r.body()).empty()) << r.body();
  }
  beast::error_code ec;
  auto h = c.read_response(ec, 10000ms);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(h.body(), R"({"alive":true})");
  EXPECT_EQ(s.key->calls(), 3);
}

// Replies that do not fit the socket buffers (a client that starts reading only after a pause): what a non-blocking send could not take follows asynchronously, in
// order. The requests go out from a second thread, as a client that writes while it reads.
TEST(Server, RepliesTheClientReadsLateAreDeliveredWholeAndInOrder) {
  Stack s;
  asio::io_context io;
  tcp::socket sock(io);
  sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.port));
  constexpr int kRequests = 60000;  // ~2 MB of requests, ~6 MB of replies: beyond what loopback buffers hold
  std::string bytes;
  for (int i = 0; i < kRequests; ++i) bytes += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  bytes += "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n";
  beast::error_code write_ec;
  std::thread writer([&] { asio::write(sock, asio::buffer(bytes), write_ec); });
  std::this_thread::sleep_for(300ms);  // the server's sends find the buffers full meanwhile
  beast::flat_buffer buffer;
  for (int i = 0; i < kRequests; ++i) {
    beast::error_code ec;
    bhttp::response<bhttp::string_body> r;
    bhttp::read(sock, buffer, r, ec);
    if (ec) {
      ADD_FAILURE() << "reply " << i << ": " << ec.message();
      break;
    }
    if (r.body() != R"({"alive":true})") {
      ADD_FAILURE() << "reply " << i << ": " << r.body();
      break;
    }
  }
  beast::error_code ec;
  bhttp::response<bhttp::string_body> last;
  bhttp::read(sock, buffer, last, ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(last.result_int(), 404);
  writer.join();
  EXPECT_FALSE(write_ec) << write_ec.message();
}

TEST(Server, BodyOver64KiBIs413AndSignsNothing) {
  Stack s;
  Client c(s.port);
  beast::error_code ec;
  const std::string big = "\"" + std::string(70 * 1024, '1') + "\"";
  auto r = c.request("POST", sign_target(*s.key), big, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_FALSE(r.keep_alive());
  EXPECT_EQ(s.key->calls(), 0);
  EXPECT_EQ(s.signed_records(), 0u);
}

TEST(Server, HalfARequestIsDisconnectedAfterTheHeaderTimeout) {
  Stack s;  // header_timeout 1 s, idle_timeout 30 s
  Client c(s.port);
  ASSERT_FALSE(c.write_raw("POST /keys/" + std::string(test::kB1Pkh) + " HTTP/1.1\r\nHost: 127"));
  beast::error_code ec;
  const auto took = c.wait_closed(10000ms, ec);
  EXPECT_NE(ec, beast::error::timeout) << "still connected after 10 s";
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 3000ms) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  EXPECT_EQ(s.key->calls(), 0);
}

TEST(Server, HalfABodyIsDisconnectedAfterTheHeaderTimeout) {
  Stack s;
  Client c(s.port);
  ASSERT_FALSE(c.write_raw("POST /keys/" + std::string(test::kB1Pkh) +
                           " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n\"13ed"));
  beast::error_code ec;
  const auto took = c.wait_closed(10000ms, ec);
  EXPECT_NE(ec, beast::error::timeout);
  EXPECT_LT(took, 3000ms);
  EXPECT_EQ(s.signed_records(), 0u);
}

TEST(Server, FiftyConcurrentConnectionsEachSign) {
  Stack s;
  std::vector<std::future<std::string>> results;
  const auto& entries = s.registry.entries();
  for (int i = 0; i < kExtraKeys; ++i) {
    const keys::Key& k = *entries[static_cast<std::size_t>(i) + 1].key;
    results.push_back(std::async(std::launch::async, [&s, &k] {
      Client c(s.port);
      for (int level : {100, 101}) {
        beast::error_code ec;
        const Bytes payload = test::attestation(level, 0);
        auto r = c.request("POST", sign_target(k), body_of(payload), ec);
        if (ec) return k.pkh().to_b58() + ": " + ec.message();
        if (r.result_int() != 200) return k.pkh().to_b58() + ": " + r.body();
        auto sig = tezos::Signature::parse(signature_of(r.body()));
        if (!sig || !tezos::verify(*k.public_key(), payload, *sig)) return k.pkh().to_b58() + ": bad signature";
      }
      return std::string();
    }));
  }
  for (auto& f : results) EXPECT_EQ(f.get(), "");
  EXPECT_EQ(s.signed_records(), static_cast<std::size_t>(kExtraKeys));
}

TEST(Server, AuthorizedAnswersWhileASignIsBlocked) {
  Stack s;
  auto slow = start_slow_sign(s, 2000ms);
  ASSERT_EQ(s.signer->in_flight(), 1);

  for (const char* target : {"/authorized", "/healthz", "/metrics"}) {
    Client c(s.port);
    beast::error_code ec;
    const auto start = Clk::now();
    auto r = c.request("GET", target, "", ec);
    const auto took = Clk::now() - start;
    ASSERT_FALSE(ec) << target << ": " << ec.message();
    EXPECT_EQ(r.result_int(), 200) << target;
    EXPECT_LT(took, 500ms) << target << " took "
                           << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  }
  EXPECT_EQ(s.signer->in_flight(), 1) << "the sign should still be blocked";
  EXPECT_EQ(slow.get(), 200);
}

TEST(Server, StopWithOpenConnectionsReturnsPromptly) {
  Stack s;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<Client>(s.port));
    beast::error_code ec;
    auto r = clients.back()->request("GET", "/healthz", "", ec);  // now idle in keep-alive
    ASSERT_FALSE(ec);
  }
  clients.push_back(std::make_unique<Client>(s.port));
  ASSERT_FALSE(clients.back()->write_raw("GET /heal"));  // mid-request
  const auto start = Clk::now();
  s.server->stop();
  const auto took = Clk::now() - start;
  EXPECT_LT(took, 1000ms) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  s.server->stop();  // idempotent
}

// ---- exceptions from the handler: 500 and a log line, never std::terminate -------------------

struct NotAStdException {};

// Throws where the target says: "/<where>/<what>", where = handle | pool | classify | after,
// what = std | other. Anything else answers 200 "ok".
class ThrowingHandler final : public Handler {
 public:
  Response handle(const Request& r) override {
    if (r.target.rfind("/handle/", 0) == 0 || r.target.rfind("/pool/", 0) == 0) throw_for(r.target);
    Response ok{200, "text/plain", "ok", {}};
    if (r.target.rfind("/after/", 0) == 0) ok.after_send = [t = r.target] { throw_for(t); };
    return ok;
  }
  bool blocking(const Request& r) const override {
    if (r.target.rfind("/classify/", 0) == 0) throw_for(r.target);
    return r.target.rfind("/pool/", 0) == 0;
  }

 private:
  static void throw_for(const std::string& target) {
    if (target.ends_with("/std")) throw std::runtime_error("client bytes: " + target);
    throw NotAStdException{};
  }
};

ServerOptions local(int io_threads = 2) {
  ServerOptions o = Stack::options();
  o.io_threads = io_threads;
  return o;
}

TEST(Server, HandlerExceptionsAre500AndTheServerKeepsServing) {
  ThrowingHandler handler;
  Server server(handler, local());
  ASSERT_TRUE(server.start().ok());
  const auto port = server.ports().at(0);
  Client c(port);
  std::uint64_t expected_errors = 0;
  for (const char* where : {"handle", "pool", "classify"}) {
    for (const char* what : {"std", "other"}) {
      const std::string target = std::string("/") + where + "/" + what;
      beast::error_code ec;
      auto r = c.request("GET", target, "", ec);
      ASSERT_FALSE(ec) << target << ": " << ec.message();
      EXPECT_EQ(r.result_int(), 500) << target;
      EXPECT_EQ(r.body(), "Internal server error") << target;
      EXPECT_TRUE(r.keep_alive()) << target;
      ++expected_errors;
      auto ok = c.request("GET", "/ok", "", ec);  // the same connection goes on
      ASSERT_FALSE(ec) << "after " << target << ": " << ec.message();
      EXPECT_EQ(ok.result_int(), 200) << "after " << target;
    }
  }
  // The reply is on its way before the after-send hook runs: the client gets it, the server logs.
  for (const char* what : {"std", "other"}) {
    beast::error_code ec;
    auto r = c.request("GET", std::string("/after/") + what, "", ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.result_int(), 200);
    ++expected_errors;
  }
  Client other(port);
  beast::error_code ec;
  EXPECT_EQ(other.request("GET", "/ok", "", ec).result_int(), 200);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(c.request("GET", "/ok", "", ec).result_int(), 200);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(server.stats().handler_errors, expected_errors);
}

TEST(Server, APeriodicTaskThatThrowsKeepsItsScheduleAndTheServer) {
  ThrowingHandler handler;
  Server server(handler, local());
  ASSERT_TRUE(server.start().ok());
  std::atomic<int> calls{0};
  server.every(5ms, [&calls] {
    if (++calls % 2) throw std::runtime_error("tick");
    throw NotAStdException{};
  });
  const auto until = Clk::now() + 10s;
  while (calls < 4 && Clk::now() < until) std::this_thread::sleep_for(5ms);
  EXPECT_GE(calls.load(), 4) << "the tick stopped after throwing";
  Client c(server.ports().at(0));
  beast::error_code ec;
  EXPECT_EQ(c.request("GET", "/ok", "", ec).result_int(), 200);
  EXPECT_FALSE(ec) << ec.message();
}

}  // namespace
}  // namespace pisigner::http
