// The Beast server on 127.0.0.1 (ephemeral port) with a Boost.Beast client: keep-alive, body cap,
// header deadline, many connections, health answers while a sign blocks, prompt stop(), handler
// exceptions answered 500, the connection cap.
#include "pisigner/http/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "pisigner/health/health.hpp"
#include "signer_fixtures.hpp"

namespace pisigner::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clk = std::chrono::steady_clock;

constexpr int kExtraKeys = 50;

// Signer + router + server over the memory store: bootstrap1 (a CountingKey) and 50 fresh soft keys.
struct Stack {
  explicit Stack(ServerOptions o = options())
      : memory(hwm::make_memory_store()),
        policy(policy::PolicyConfig{}),
        watermarks(*memory),
        health(clock, 1000ms, 3000ms) {
    auto b1 = std::make_unique<test::CountingKey>(test::kB1Sk);
    key = b1.get();
    std::vector<keys::KeyEntry> entries;
    entries.push_back({std::move(b1), false});
    for (int i = 0; i < kExtraKeys; ++i) {
      entries.push_back({std::make_unique<keys::SoftKey>(crypto::SecretKey::generate(crypto::Curve::Ed25519)), false});
    }
    registry = keys::Registry::build(std::move(entries)).value();
    signer = std::make_unique<core::Signer>(registry, policy, auth, watermarks, metrics, clock);
    health.add("ledger", true);
    health.report("ledger", health::ProbeResult{health::State::Ok, "ok"});
    router = std::make_unique<Router>(*signer, health, metrics, RouterOptions{});
    server = std::make_unique<Server>(*router, std::move(o));
    auto started = server->start();
    EXPECT_TRUE(started.ok()) << (started.ok() ? "" : started.error().message);
    port = server->ports().at(0);
  }
  static ServerOptions options() {
    ServerOptions o;
    o.listen = {"127.0.0.1:0"};
    o.header_timeout = 1s;
    o.idle_timeout = 30s;  // far above header_timeout, so the header test sees which one applies
    return o;
  }
  std::size_t signed_records() { return memory->list().value().size(); }

  std::unique_ptr<hwm::Store> memory;
  policy::Policy policy;
  policy::Authenticator auth;
  hwm::Watermarks watermarks;
  metrics::Registry metrics;
  ManualClock clock;
  health::Health health;
  keys::Registry registry;
  test::CountingKey* key = nullptr;
  std::unique_ptr<core::Signer> signer;
  std::unique_ptr<Router> router;
  std::unique_ptr<Server> server;
  std::uint16_t port = 0;
};

// A blocking client with a deadline on every operation (async ops + run()).
class Client {
 public:
  explicit Client(std::uint16_t port) : stream_(io_) {
    stream_.expires_after(5s);
    beast::error_code ec;
    stream_.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                          [&](beast::error_code e) { ec = e; });
    run();
    EXPECT_FALSE(ec) << ec.message();
  }

  beast::error_code write_raw(const std::string& bytes, std::chrono::milliseconds timeout = 5000ms) {
    beast::error_code ec;
    stream_.expires_after(timeout);
    asio::async_write(stream_, asio::buffer(bytes), [&](beast::error_code e, std::size_t) { ec = e; });
    run();
    return ec;
  }

  // Sends a request and reads the response; `ec` gets any transport error.
  bhttp::response<bhttp::string_body> request(const std::string& method, const std::string& target,
                                              const std::string& body, beast::error_code& ec,
                                              std::chrono::milliseconds timeout = 10000ms) {
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    stream_.expires_after(timeout);
    ec = {};
    bhttp::async_write(stream_, req, [&](beast::error_code e, std::size_t) { ec = e; });
    run();
    if (ec) return {};
    return read_response(ec, timeout, method == "HEAD");
  }

  bhttp::response<bhttp::string_body> read_response(beast::error_code& ec, std::chrono::milliseconds timeout,
                                                    bool head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.skip(head);
    parser.body_limit(1 << 20);
    stream_.expires_after(timeout);
    bhttp::async_read(stream_, buffer_, parser, [&](beast::error_code e, std::size_t) { ec = e; });
    run();
    return parser.release();
  }

  // Waits for the server to close the connection; returns how long that took (or the timeout).
  Clk::duration wait_closed(std::chrono::milliseconds timeout, beast::error_code& ec) {
    const auto start = Clk::now();
    char buf[256];
    stream_.expires_after(timeout);
    for (;;) {
      std::size_t n = 0;
      stream_.async_read_some(asio::buffer(buf), [&](beast::error_code e, std::size_t k) { ec = e; n = k; });
      run();
      if (ec || n == 0) break;
    }
    return Clk::now() - start;
  }

 private:
  void run() {
    io_.restart();
    io_.run();
  }
  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

std::string sign_target(const keys::Key& k) { return "/keys/" + k.pkh().to_b58(); }
std::string signature_of(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  return j.is_object() && j.contains("signature") && j["signature"].is_string() ? j["signature"].get<std::string>() : "";
}
std::string body_of(const Bytes& payload) { return "\"" + to_hex(payload) + "\""; }

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
  s.key->set_delay(2000ms);
  s.key->set_backend("ledger");  // a device-backed key: its signs run off the I/O thread
  auto slow = std::async(std::launch::async, [&] {
    Client c(s.port);
    beast::error_code ec;
    auto r = c.request("POST", sign_target(*s.key), body_of(test::attestation(7, 0)), ec);
    return ec ? -1 : r.result_int();
  });
  const auto wait_until = Clk::now() + 5s;
  while (s.signer->in_flight() == 0 && Clk::now() < wait_until) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(s.signer->in_flight(), 1) << "the slow sign never started";

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

// ---- the connection cap -------------------------------------------------------------------

ServerOptions capped(int cap, int io_threads) {
  ServerOptions o = Stack::options();
  o.max_connections = cap;
  o.io_threads = io_threads;
  return o;
}

bool closed_by_server(Client& c) {
  beast::error_code ec;
  c.wait_closed(5000ms, ec);
  return ec && ec != beast::error::timeout;
}

// One I/O thread: the idle order is the order of the replies, so which connection goes is known.
TEST(Server, AtTheCapTheLongestIdleConnectionMakesRoomAndSigningGoesOn) {
  Stack s(capped(4, 1));
  Client signer(s.port);
  beast::error_code ec;
  int level = 1;
  ASSERT_EQ(signer.request("POST", sign_target(*s.key), body_of(test::attestation(level++, 0)), ec).result_int(), 200);
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 3; ++i) {
    idle.push_back(std::make_unique<Client>(s.port));
    ASSERT_EQ(idle.back()->request("GET", "/healthz", "", ec).result_int(), 200) << ec.message();
  }
  ASSERT_EQ(signer.request("POST", sign_target(*s.key), body_of(test::attestation(level++, 0)), ec).result_int(), 200);
  EXPECT_EQ(s.server->stats().open_connections, 4);

  std::vector<std::unique_ptr<Client>> late;
  for (int k = 0; k < 3; ++k) {
    late.push_back(std::make_unique<Client>(s.port));
    auto r = late.back()->request("GET", "/healthz", "", ec);
    ASSERT_FALSE(ec) << "connection " << k << " over the cap: " << ec.message();
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_TRUE(closed_by_server(*idle[static_cast<std::size_t>(k)])) << "idle connection " << k << " still open";
    auto sig = signer.request("POST", sign_target(*s.key), body_of(test::attestation(level++, 0)), ec);
    ASSERT_FALSE(ec) << "the signer's connection was closed: " << ec.message();
    EXPECT_EQ(sig.result_int(), 200) << sig.body();
  }
  EXPECT_EQ(s.server->stats().evicted, 3u);
  EXPECT_LE(s.server->stats().open_connections, 4);
  EXPECT_EQ(s.key->calls(), level - 1);
}

// Several I/O threads: the oldest idle connection is found across all of them.
TEST(Server, AtTheCapAnIdleConnectionOnAnyThreadMakesRoom) {
  Stack s(capped(3, 3));
  std::vector<std::unique_ptr<Client>> idle;
  beast::error_code ec;
  for (int i = 0; i < 3; ++i) {
    idle.push_back(std::make_unique<Client>(s.port));
    ASSERT_EQ(idle.back()->request("GET", "/healthz", "", ec).result_int(), 200) << ec.message();
  }
  Client late(s.port);
  EXPECT_EQ(late.request("GET", "/healthz", "", ec).result_int(), 200);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(s.server->stats().evicted, 1u);
}

// Opens n connections that have sent half a request line and stay there: slow senders.
void open_slow_senders(std::uint16_t port, int n, std::vector<std::unique_ptr<Client>>& out) {
  for (int i = 0; i < n; ++i) {
    out.push_back(std::make_unique<Client>(port));
    ASSERT_FALSE(out.back()->write_raw("GET /healthz HTTP/1.1\r\nX-Slow: ")) << "slow client " << i;
  }
}

// A slow sender (a request still arriving) makes room before an idle keep-alive connection: a
// slowloris must not hold every slot while the baker's connection, idle between two signatures,
// is the one closed. Every slow sender is older than the idle signer here.
TEST(Server, AtTheCapASlowSenderMakesRoomBeforeAnIdleConnection) {
  ServerOptions o = capped(4, 1);
  o.header_timeout = 30s;  // the slow senders are closed by the cap here, never by their deadline
  Stack s(o);
  beast::error_code ec;
  std::vector<std::unique_ptr<Client>> slow;
  ASSERT_NO_FATAL_FAILURE(open_slow_senders(s.port, 3, slow));
  Client signer(s.port);
  int level = 1;
  ASSERT_EQ(signer.request("POST", sign_target(*s.key), body_of(test::attestation(level++, 0)), ec).result_int(), 200);
  std::vector<std::unique_ptr<Client>> late;  // kept open: each needs a slot of its own
  for (int k = 0; k < 3; ++k) {
    late.push_back(std::make_unique<Client>(s.port));
    auto r = late.back()->request("GET", "/healthz", "", ec);
    ASSERT_FALSE(ec) << "connection " << k << " over the cap: " << ec.message();
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_TRUE(closed_by_server(*slow[static_cast<std::size_t>(k)])) << "slow connection " << k << " still open";
    auto sig = signer.request("POST", sign_target(*s.key), body_of(test::attestation(level++, 0)), ec);
    ASSERT_FALSE(ec) << "the idle signer's connection was closed for a newcomer: " << ec.message();
    EXPECT_EQ(sig.result_int(), 200);
  }
  EXPECT_EQ(s.server->stats().evicted, 3u);
}

// Slow senders make room eight at a time (a slowloris beyond the cap costs one round of making
// room per eight newcomers, not per newcomer), the oldest first, and no more than eight.
TEST(Server, AtTheCapSlowSendersMakeRoomEightAtATime) {
  ServerOptions o = capped(13, 1);
  o.header_timeout = 30s;
  Stack s(o);
  beast::error_code ec;
  std::vector<std::unique_ptr<Client>> slow;
  ASSERT_NO_FATAL_FAILURE(open_slow_senders(s.port, 12, slow));
  Client signer(s.port);
  ASSERT_EQ(signer.request("POST", sign_target(*s.key), body_of(test::attestation(1, 0)), ec).result_int(), 200);
  Client late(s.port);
  EXPECT_EQ(late.request("GET", "/healthz", "", ec).result_int(), 200);
  ASSERT_FALSE(ec) << ec.message();
  for (std::size_t k = 0; k < 8; ++k) EXPECT_TRUE(closed_by_server(*slow[k])) << "slow connection " << k << " still open";
  EXPECT_EQ(s.server->stats().evicted, 8u);
  for (std::size_t k = 8; k < slow.size(); ++k) {
    slow[k]->wait_closed(300ms, ec);
    EXPECT_EQ(ec, beast::error::timeout) << "slow connection " << k << " was closed too: " << ec.message();
  }
  EXPECT_EQ(signer.request("POST", sign_target(*s.key), body_of(test::attestation(2, 0)), ec).result_int(), 200);
}

// With no connection idle the acceptor waits (the client sits in the kernel backlog) instead of
// cutting a signature short; the client is served once the sign's connection is idle.
TEST(Server, AtTheCapWithNoIdleConnectionTheNextClientWaitsForRoom) {
  Stack s(capped(1, 1));
  s.key->set_delay(1500ms);
  s.key->set_backend("ledger");
  auto slow = std::async(std::launch::async, [&] {
    Client c(s.port);
    beast::error_code ec;
    auto r = c.request("POST", sign_target(*s.key), body_of(test::attestation(7, 0)), ec);
    return ec ? -1 : r.result_int();
  });
  const auto wait_until = Clk::now() + 5s;
  while (s.signer->in_flight() == 0 && Clk::now() < wait_until) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(s.signer->in_flight(), 1) << "the slow sign never started";

  Client waiting(s.port);
  beast::error_code ec;
  auto r = waiting.request("GET", "/healthz", "", ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(s.signer->in_flight(), 0) << "served while the only slot was busy signing";
  EXPECT_EQ(slow.get(), 200);
  EXPECT_EQ(s.signed_records(), 1u);
}

}  // namespace
}  // namespace pisigner::http
