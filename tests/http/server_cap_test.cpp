// The connection cap, on the real server over 127.0.0.1: at the cap a slow sender makes room before
// an idle keep-alive connection, the oldest first, eight at a time, at most room_per_second a
// second; with neither, the next client waits in the backlog and no signature is cut short.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "server_stack.hpp"

namespace pisigner::http {
namespace {

using namespace server_testing;

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

// One newcomer per connection in `victims`, each kept open in `late` (it needs a slot of its own):
// the k-th is served and victims[k] is closed for it, and the signer's keep-alive connection signs
// on after each (it is never the one closed).
void newcomers_close_in_turn(Stack& s, Client& signer, int& level, std::vector<std::unique_ptr<Client>>& victims,
                             const char* what, std::vector<std::unique_ptr<Client>>& late) {
  beast::error_code ec;
  for (std::size_t k = 0; k < victims.size(); ++k) {
    late.push_back(std::make_unique<Client>(s.port));
    auto r = late.back()->request("GET", "/healthz", "", ec);
    ASSERT_FALSE(ec) << "connection " << k << " over the cap: " << ec.message();
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_TRUE(closed_by_server(*victims[k])) << what << " connection " << k << " still open";
    auto sig = signer.request("POST", sign_target(*s.key), body_of(test::attestation(level++, 0)), ec);
    ASSERT_FALSE(ec) << "the signer's connection was closed for a newcomer: " << ec.message();
    EXPECT_EQ(sig.result_int(), 200) << sig.body();
  }
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
  ASSERT_NO_FATAL_FAILURE(newcomers_close_in_turn(s, signer, level, idle, "idle", late));
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
  std::vector<std::unique_ptr<Client>> late;
  ASSERT_NO_FATAL_FAILURE(newcomers_close_in_turn(s, signer, level, slow, "slow", late));
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

// A slowloris with more connections than the cap, each in the backlog until a slot frees: room is
// made at room_per_second (a burst of eight, then 20 a second here), not as fast as the server can
// accept and close, so its churn cannot crowd out the signers. The connections it holds are closed
// oldest first, a new client is served once the newcomers ahead of it are in, and the baker's idle
// keep-alive connection is never the one closed.
TEST(Server, AtTheCapRoomIsMadeAtMostRoomPerSecond) {
  ServerOptions o = capped(10, 1);
  o.header_timeout = 30s;
  o.room_per_second = 20;
  Stack s(o);
  beast::error_code ec;
  std::vector<std::unique_ptr<Client>> slow;
  ASSERT_NO_FATAL_FAILURE(open_slow_senders(s.port, 9, slow));
  Client signer(s.port);
  ASSERT_EQ(signer.request("POST", sign_target(*s.key), body_of(test::attestation(1, 0)), ec).result_int(), 200);
  ASSERT_EQ(s.server->stats().open_connections, 10);

  const auto t0 = Clk::now();
  std::vector<std::unique_ptr<Client>> more;  // in the kernel's backlog
  ASSERT_NO_FATAL_FAILURE(open_slow_senders(s.port, 40, more));
  const auto burst_deadline = Clk::now() + 5s;
  while (s.server->stats().evicted < 8 && Clk::now() < burst_deadline) std::this_thread::sleep_for(1ms);
  EXPECT_GE(s.server->stats().evicted, 8u) << "no room was made for the clients in the backlog";
  std::this_thread::sleep_for(500ms);
  const double elapsed = std::chrono::duration<double>(Clk::now() - t0).count();
  const auto evicted = s.server->stats().evicted;
  EXPECT_LE(evicted, static_cast<std::uint64_t>(8 + 20 * elapsed + 1))
      << "connections closed to make room in " << elapsed << " s";
  EXPECT_GT(s.server->stats().room_deferrals, 0u);
  for (std::size_t k = 0; k < 8; ++k) EXPECT_TRUE(closed_by_server(*slow[k])) << "oldest slow connection " << k;

  // Behind at most 32 slow newcomers at 20 a second.
  Client late(s.port);
  const auto asked = Clk::now();
  auto r = late.request("GET", "/healthz", "", ec, 10000ms);
  ASSERT_FALSE(ec) << "a new client was not served: " << ec.message();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_LT(Clk::now() - asked, 4s);
  auto sig = signer.request("POST", sign_target(*s.key), body_of(test::attestation(2, 0)), ec);
  ASSERT_FALSE(ec) << "the idle signer's connection was closed for a newcomer: " << ec.message();
  EXPECT_EQ(sig.result_int(), 200);
}

// With no connection idle the acceptor waits (the client sits in the kernel backlog) instead of
// cutting a signature short; the client is served once the sign's connection is idle.
TEST(Server, AtTheCapWithNoIdleConnectionTheNextClientWaitsForRoom) {
  Stack s(capped(1, 1));
  auto slow = start_slow_sign(s, 1500ms);
  ASSERT_EQ(s.signer->in_flight(), 1);

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
