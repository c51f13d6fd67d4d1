// The server test bench shared by the server's suites: a Signer, Router and Server over the memory
// store on 127.0.0.1 (ephemeral port), and a blocking Boost.Beast client with a deadline on every
// operation.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <future>
#include <memory>
#include <thread>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pisigner/health/health.hpp"
#include "pisigner/http/server.hpp"
#include "signer_fixtures.hpp"

namespace pisigner::http::server_testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clk = std::chrono::steady_clock;

inline constexpr int kExtraKeys = 50;

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

inline std::string sign_target(const keys::Key& k) { return "/keys/" + k.pkh().to_b58(); }
inline std::string signature_of(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  return j.is_object() && j.contains("signature") && j["signature"].is_string() ? j["signature"].get<std::string>() : "";
}
inline std::string body_of(const Bytes& payload) { return "\"" + to_hex(payload) + "\""; }

// Starts a device-backed sign of an attestation that takes `delay` on a connection of its own and
// returns once it is in flight (a test failure if it never starts); the future holds its status,
// or -1 on a transport error.
inline std::future<int> start_slow_sign(Stack& s, std::chrono::milliseconds delay) {
  s.key->set_delay(delay);
  s.key->set_backend("ledger");  // a device-backed key: its signs run off the I/O thread
  auto slow = std::async(std::launch::async, [&s]() -> int {
    Client c(s.port);
    beast::error_code ec;
    auto r = c.request("POST", sign_target(*s.key), body_of(test::attestation(7, 0)), ec);
    return ec ? -1 : static_cast<int>(r.result_int());
  });
  const auto wait_until = Clk::now() + 5s;
  while (s.signer->in_flight() == 0 && Clk::now() < wait_until) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(s.signer->in_flight(), 1) << "the slow sign never started";
  return slow;
}

}  // namespace pisigner::http::server_testing
