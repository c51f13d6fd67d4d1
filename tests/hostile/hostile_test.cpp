// Hostile clients against the real pisignerd on loopback. Each attack runs while an honest baker
// (one keep-alive connection, authenticated attestations at increasing levels) keeps signing; the
// test asserts behaviour: the attacker gets its documented error or is dropped, every honest
// signature is granted, the daemon stays up. It prints the honest sign p99 during each attack beside
// the p99 without one (the ratio target, 2x, is a figure to read; only a loose 20x sanity bound is
// asserted, since timings on a shared machine are not behaviour). The attacking thread runs at nice
// 19: a real attacker's CPU is on its own machine, so only the work the attack makes pisignerd do
// should compete with the baker here, not the attacker's own system calls.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>

#include "hostile_fixture.hpp"
#include "raw_client.hpp"

namespace pisigner::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

std::string request(const std::string& method, const std::string& target, const std::string& body,
                    const std::string& extra_headers = {}) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers;
  if (!body.empty() || method == "POST") {
    r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return r + "\r\n" + body;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

constexpr int kDropped = 0;    // the server closed the connection without a reply we could read
constexpr int kNoAnswer = -2;  // neither a reply nor a close within the deadline

// One fresh connection, one request: its reply's status, kDropped or kNoAnswer.
int one_shot(std::uint16_t port, const std::string& bytes) {
  RawConn c(port);
  if (!c.ok()) return -1;
  c.send(bytes);
  auto r = c.read_reply(5s);
  if (r) return r->status;
  return c.closed_by_peer(0ms) ? kDropped : kNoAnswer;
}

// For requests the server refuses before reading them whole: it answers and closes with the
// client's bytes unread, so the kernel may reset the connection and discard the reply before the
// client reads it. The error or the drop are both a refusal; hanging is not.
int answered_or_dropped(int status, int expected) { return status == kDropped ? expected : status; }

class Hostile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fd_limit_ = raise_fd_limit(4096);
    dir_ = new TempDir("hostile");
    daemon_ = new Daemon(dir_->path(), hostile_config(dir_->path()));
    port_ = daemon_->port();
    honest_ = new HonestSigner(port_, 1);
    honest_->sign(50);  // warm-up: connection, chain row, caches
  }
  static void TearDownTestSuite() {
    delete honest_;
    delete daemon_;
    delete dir_;
  }

  void SetUp() override {
    ASSERT_GE(fd_limit_, 2600u) << "needs descriptors for 1,100 connections at both ends (RLIMIT_NOFILE hard limit)";
    ASSERT_NE(port_, 0) << "pisignerd did not start";
    settle();
  }

  // Waits (up to 15 s) until the daemon holds no connection but the baker's: the connections the
  // previous attack left (a thousand closing at once) are its cost, not this attack's.
  static void settle() {
    HttpClient health(daemon_->health_port());
    const std::string prefix = "pisigner_http_open_connections{listener=\"signing\"} ";
    const auto give_up = std::chrono::steady_clock::now() + 15s;
    int open = -1;
    while (std::chrono::steady_clock::now() < give_up) {
      const std::string m = health.get("/metrics").body;
      const auto at = m.find(prefix);
      open = at == std::string::npos ? -1 : std::atoi(m.c_str() + at + prefix.size());
      if (open >= 0 && open <= 1) return;
      std::this_thread::sleep_for(20ms);
    }
    std::printf("(the daemon still held %d connections on the signing port 15 s after the previous attack)\n", open);
  }

  // 3,000 samples per side: the p99 is the 30th slowest, so a few scheduler slices lost to another
  // process on a shared machine do not decide it (with 1,000 the same attack read 1.2-2.1x from one
  // run to the next on a quiet machine; with 3,000, 1.0-1.8x).
  // Under ASan the figures are not the point (memory errors are): a third of the samples.
  static int per_phase() {
#ifdef __SANITIZE_ADDRESS__
    return long_form() ? 10000 : 1000;
#else
    return long_form() ? 10000 : 3000;
#endif
  }
  static constexpr int kBlocks = 5;  // quiet and attacked blocks, alternating

  // Runs `attack` in a loop on its own thread while the honest baker signs, prints the comparison,
  // and checks what must hold for every attack. The baker's signatures alternate between blocks
  // with the attack paused (after its current round) and blocks with a round under way, so whatever
  // else the machine does lands on both sides of the ratio.
  void under_attack(const std::string& name, const std::function<void()>& attack) {
    std::atomic<bool> stop{false};
    std::atomic<int> rounds{0};
    std::mutex state;  // a round starts only while not paused: no round can begin unseen
    bool paused = true, in_round = false;
    auto set_paused = [&](bool p) { std::lock_guard l(state); paused = p; };
    auto round_under_way = [&] { std::lock_guard l(state); return in_round; };
    std::thread attacker([&] {
      ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 19);  // this thread only
      while (!stop.load()) {
        bool start = false;
        {
          std::lock_guard l(state);
          start = in_round = !paused;
        }
        if (!start) {
          std::this_thread::sleep_for(1ms);
          continue;
        }
        attack();
        rounds.fetch_add(1);
        std::lock_guard l(state);
        in_round = false;
      }
    });
    const int failures_before = honest_->failures();
    std::vector<double> quiet, latencies;
    const int block = per_phase() / kBlocks;
    const auto give_up = std::chrono::steady_clock::now() + 120s;
    for (int b = 0; b < 2 * kBlocks && daemon_->process().running() && std::chrono::steady_clock::now() < give_up; ++b) {
      const bool attacked = b % 2 == 1;
      set_paused(!attacked);
      // Attacked: a round is under way (after a first whole one, so its connections are in place).
      // Quiet: the round under way has finished and no other starts.
      while ((attacked ? (rounds.load() == 0 || !round_under_way()) : round_under_way()) &&
             std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(1ms);
      }
      auto l = honest_->sign(block);
      (attacked ? latencies : quiet).insert((attacked ? latencies : quiet).end(), l.begin(), l.end());
    }
    stop.store(true);
    attacker.join();
    const double baseline_p99 = percentile(quiet, 0.99);
    const double p99 = report(name, latencies, baseline_p99);
    EXPECT_EQ(honest_->failures(), failures_before) << name << ": honest signatures were refused";
    EXPECT_GT(rounds.load(), 0);
    // A sanity bound only: a baker stalled until the attackers time out (header_timeout_s, 2 s)
    // shows; a busy machine's scheduling noise (tens of ms at the 99th percentile) does not.
    EXPECT_LT(p99, std::max(20 * baseline_p99, 1000.0)) << name;
    ASSERT_TRUE(daemon_->process().running()) << name << ": the daemon died\n" << daemon_->log();
  }

  static std::uint16_t port() { return port_; }

  static inline TempDir* dir_ = nullptr;
  static inline Daemon* daemon_ = nullptr;
  static inline HonestSigner* honest_ = nullptr;
  static inline std::uint16_t port_ = 0;
  static inline std::uint64_t fd_limit_ = 0;
};

// Slow clients hold a connection open by sending a request a byte at a time: each is dropped at
// server.header_timeout_s counted from its first byte, however steadily it trickles.
void slowloris(std::uint16_t port, const std::string& head, int conns, const char* name) {
  std::vector<RawConn> slow;
  for (int i = 0; i < conns; ++i) {
    slow.emplace_back(port);
    ASSERT_TRUE(slow.back().ok());
    slow.back().send(head);
  }
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(3 * kHeaderTimeoutS + 5);
  std::size_t dropped = 0;
  std::vector<bool> done(slow.size(), false);
  while (dropped < slow.size() && std::chrono::steady_clock::now() < give_up) {
    for (std::size_t i = 0; i < slow.size(); ++i) {
      if (done[i]) continue;
      if (!slow[i].send("a") || slow[i].closed_by_peer(0ms)) {
        done[i] = true;
        ++dropped;
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(dropped, slow.size()) << name << ": slow connections still open after " << 3 * kHeaderTimeoutS + 5 << " s";
}

TEST_F(Hostile, SlowlorisHeadersAreDroppedAtTheHeaderTimeout) {
  under_attack("slowloris headers (100 conns)", [&] {
    slowloris(port(), "POST " + kKeyPath + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", 100, "headers");
  });
}

// A new client arrives while more slow clients than server.max_connections hold a connection: it
// is served before the header timeout frees most slots (most slow connections still open).
// Returns how long it waited for its reply, in milliseconds.
double expect_a_new_client_served(std::uint16_t port, std::vector<RawConn>& slow) {
  const auto t0 = std::chrono::steady_clock::now();
  RawConn late(port);
  late.send(request("GET", "/healthz", ""));
  auto r = late.read_reply(std::chrono::seconds(3 * kHeaderTimeoutS + 5));
  const double waited = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(r.has_value()) << "a new client was never served during a slowloris beyond the cap";
  if (r) {
    EXPECT_EQ(r->status, 200);
  }
  std::size_t still_open = 0;
  for (auto& c : slow) still_open += c.closed_by_peer(0ms) ? 0 : 1;
  EXPECT_GT(still_open, slow.size() / 2) << "the new client waited for the header timeout";
  return waited;
}

const std::string kSlowHead = "GET /authorized HTTP/1.1\r\nX-Slow: ";

// 1,100 connections that each sent half a request: past the cap the kernel's backlog holds them.
std::vector<RawConn> open_slow(std::uint16_t port) {
  std::vector<RawConn> slow;
  for (int i = 0; i < 1100; ++i) {
    slow.emplace_back(port);
    slow.back().send(kSlowHead);
  }
  return slow;
}

// More slow clients than server.max_connections, as a slowloris runs: it holds 1,100 connections
// that each send half a request, and opens a new one as soon as the server drops one (at the header
// timeout, or to make room at the cap), so the backlog always holds some. At the cap the connections
// that have been sending their request for longest make room, at most server.room_per_second (1,000)
// a second: the churn is the server's pace, not the attacker's. A new client is served once the
// newcomers ahead of it in the backlog are in, while most slow ones still hold, and the baker's
// keep-alive connection, idle between two signatures, is never the one closed.
TEST_F(Hostile, SlowlorisBeyondTheCapMakesRoomForANewClient) {
  std::vector<RawConn> slow = open_slow(port());
  std::size_t reopened = 0;
  std::vector<double> waits;
  std::chrono::steady_clock::duration attacking{};
  under_attack("slowloris beyond the cap (1100)", [&] {
    const auto t0 = std::chrono::steady_clock::now();
    for (auto& c : slow) {
      if (!c.closed_by_peer(0ms)) continue;
      c = RawConn(port());
      c.send(kSlowHead);
      ++reopened;
    }
    waits.push_back(expect_a_new_client_served(port(), slow));
    std::this_thread::sleep_for(1ms);
    attacking += std::chrono::steady_clock::now() - t0;
  });
  const double seconds = std::chrono::duration<double>(attacking).count();
  std::printf("slowloris beyond the cap: %zu connections dropped by the server and opened again in %.1f s of attack "
              "(%.0f a second); a new client waited p50 %.0f ms, max %.0f ms over %zu rounds\n",
              reopened, seconds, seconds > 0 ? reopened / seconds : 0.0, percentile(waits, 0.5),
              percentile(waits, 1.0), waits.size());
}

// A connection flood beyond the cap: each round opens 1,100 slow connections at once, checks that a
// new client is served, and closes them all, thousands of connects and closes a second. The
// honest baker's figure is printed as a stress reading, not against the 2x target: on two cores the
// kernel's work for each connection the daemon accepts and closes competes with the baker's
// signatures (the flood is one a remote attacker pays for with its own machine; here its
// connects and closes run on the daemon's two cores).
TEST_F(Hostile, AConnectionFloodBeyondTheCapStillServesANewClient) {
  under_attack("connection flood (1100 per round)", [&] {
    std::vector<RawConn> slow = open_slow(port());
    expect_a_new_client_served(port(), slow);
  });
}

TEST_F(Hostile, SlowlorisBodiesAreDroppedAtTheHeaderTimeout) {
  under_attack("slowloris bodies (100 conns)", [&] {
    slowloris(port(),
              "POST " + kKeyPath + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              "Content-Length: 60000\r\n\r\n\"",
              100, "bodies");
  });
}

TEST_F(Hostile, HugeHeadersAre431) {
  under_attack("huge headers (16 KiB, 1 MiB)", [&] {
    std::string pad;
    while (pad.size() < 16 * 1024) pad += "X-Pad-" + std::to_string(pad.size()) + ": " + std::string(100, 'p') + "\r\n";
    EXPECT_EQ(answered_or_dropped(one_shot(port(), request("GET", "/authorized", "", pad)), 431), 431);
    EXPECT_EQ(answered_or_dropped(
                  one_shot(port(), request("GET", "/authorized", "", "X-Big: " + std::string(20000, 'b') + "\r\n")), 431),
              431);
    // A client that streams headers without end: answered 431 and cut once past the limit.
    RawConn c(port());
    c.send("GET /authorized HTTP/1.1\r\n");
    for (int i = 0; i < 64 && c.send(std::string(16 * 1024, 'h')); ++i) {
    }
    auto r = c.read_reply(5s);
    if (r) {
      EXPECT_EQ(r->status, 431);  // or reset before the reply was read: dropped either way
    }
    EXPECT_TRUE(c.closed_by_peer(5s));
  });
}

TEST_F(Hostile, AThousandIdleConnectionsDoNotLockOutANewClient) {
  std::vector<RawConn> idle;
  for (int i = 0; i < 1000; ++i) {
    idle.emplace_back(port());
    ASSERT_TRUE(idle.back().ok()) << "connection " << i;
  }
  under_attack("1000 idle connections", [&] {
    // A new client (HAProxy opening another connection) is still served: past the cap the
    // longest-idle connection makes room.
    for (int i = 0; i < 30; ++i) {
      RawConn extra(port());
      ASSERT_TRUE(extra.ok());
      extra.send(request("GET", "/healthz", ""));
      auto r = extra.read_reply(5s);
      ASSERT_TRUE(r.has_value()) << "a new client got no reply with 1000 idle connections open";
      EXPECT_EQ(r->status, 200);
      idle.emplace_back(port());  // and one more idle connection each time, past the cap
    }
  });
}

TEST_F(Hostile, PipelinedRequestsAreAnsweredInOrder) {
  std::int32_t level = 1;
  under_attack("pipelined (60 requests per write)", [&] {
    RawConn c(port());
    std::string batch;
    std::vector<int> expect;
    for (int i = 0; i < 20; ++i) {
      const std::string p = on_chain(preattestation_hex(level++, 0), 2);
      batch += request("GET", "/authorized", "") + request("POST", signed_target(p), quoted(p)) +
               request("GET", "/keys/tz1gjaF81ZRRvdzjobyfVNsAeSC6PScjfQwN", "");
      expect.insert(expect.end(), {200, 200, 404});
    }
    ASSERT_TRUE(c.send(batch));
    for (std::size_t i = 0; i < expect.size(); ++i) {
      auto r = c.read_reply(5s);
      ASSERT_TRUE(r.has_value()) << "reply " << i << " of a pipeline missing";
      EXPECT_EQ(r->status, expect[i]) << "reply " << i << ": " << r->body;
    }
  });
}

TEST_F(Hostile, ChunkedBodiesAreSignedOrRefusedLikeAnyOther) {
  std::int32_t level = 1;
  under_attack("chunked bodies", [&] {
    const std::string p = quoted(on_chain(block_hex(level++, 0), 3));
    const std::string head = "POST " + signed_target(p.substr(1, p.size() - 2)) +
                             " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n";
    auto hexlen = [](std::size_t n) {
      char b[17];
      std::snprintf(b, sizeof b, "%zx", n);
      return std::string(b);
    };
    const std::string a = p.substr(0, 10), b = p.substr(10);
    RawConn c(port());
    c.send(head + hexlen(a.size()) + "\r\n" + a + "\r\n" + hexlen(b.size()) + ";ext=1\r\n" + b + "\r\n0\r\n\r\n");
    auto r = c.read_reply(5s);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_TRUE(json::parse(r->body, nullptr, false).contains("signature")) << r->body;
    // A chunk larger than server.body_limit: 413 before it arrives; a chunk size that is not hex: 400.
    EXPECT_EQ(answered_or_dropped(one_shot(port(), head + "fffff\r\n" + std::string(1000, 'a')), 413), 413);
    EXPECT_EQ(answered_or_dropped(one_shot(port(), head + "zz\r\nab\r\n0\r\n\r\n"), 400), 400);
    EXPECT_EQ(one_shot(port(), head + "ffffffffffffffffffff\r\n"), 400);
  });
}

TEST_F(Hostile, InvalidUtf8AndNulBytesAreRefused) {
  const std::string att = attestation_hex(5, 0);
  under_attack("invalid UTF-8 and NUL bytes", [&] {
    EXPECT_EQ(one_shot(port(), request("GET", "/keys/tz1\xff\xfe", "")), 400);
    EXPECT_EQ(answered_or_dropped(one_shot(port(), request("GET", std::string("/keys/tz1\0ab", 12), "")), 400), 400);
    EXPECT_EQ(one_shot(port(), request("GET", "/\xc3\x28", "")), 404);
    EXPECT_EQ(answered_or_dropped(one_shot(port(), request("GET", "/healthz", "", std::string("X-Nul: a\0b\r\n", 12))), 400),
              400);
    EXPECT_EQ(one_shot(port(), request("GET", "/healthz", "", "X-Latin: caf\xe9\r\n")), 200);  // obs-text: allowed
    EXPECT_EQ(one_shot(port(), request("POST", kKeyPath, "\"\xff\xfe\"")), 400);
    EXPECT_EQ(one_shot(port(), request("POST", kKeyPath, std::string("\"13\0\"", 5))), 400);
    // Garbage in authentication= is an invalid signature, as octez answers it: 500.
    EXPECT_EQ(one_shot(port(), request("POST", kKeyPath + "?authentication=\xff\xfe", quoted(att))), 500);
    EXPECT_EQ(one_shot(port(), request("POST", kKeyPath + "?authentication=%00", quoted(att))), 500);
  });
}

TEST_F(Hostile, VeryLongPathsAndQueriesAreRefused) {
  const std::string att = attestation_hex(5, 0);
  under_attack("long paths and queries", [&] {
    EXPECT_EQ(one_shot(port(), request("GET", "/keys/" + std::string(7000, 'z'), "")), 400);
    EXPECT_EQ(one_shot(port(), request("GET", "/" + std::string(7000, 'z'), "")), 404);
    EXPECT_EQ(answered_or_dropped(one_shot(port(), request("GET", "/keys/" + std::string(100000, 'z'), "")), 431), 431);
    std::string many;
    for (int i = 0; i < 700; ++i) many += "&x" + std::to_string(i) + "=1";
    EXPECT_EQ(one_shot(port(), request("POST", kKeyPath + "?version=1" + many, quoted(att))), 500);  // no auth
    EXPECT_EQ(one_shot(port(), request("POST", kKeyPath + "?authentication=" + std::string(7000, 'e'), quoted(att))),
              500);
    EXPECT_EQ(answered_or_dropped(
                  one_shot(port(), request("POST", kKeyPath + "?x=" + std::string(100000, 'q'), quoted(att))), 431),
              431);
  });
}

TEST_F(Hostile, AReplayedAuthenticationDoesNotCoverAnotherPayload) {
  std::int32_t level = 1;
  under_attack("replayed authentication", [&] {
    // A signature the honest client sent, seen on the wire, replayed on other payloads: refused,
    // nothing stored. (The same bytes again are a retry and get the same signature.)
    const std::string seen = on_chain(attestation_hex(level++, 0), 4);
    const std::string auth = auth_for(seen);
    RawConn c(port());
    c.send(request("POST", kKeyPath + "?authentication=" + auth, quoted(seen)));
    auto ok = c.read_reply(5s);
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->status, 200) << ok->body;
    for (const std::string& other :
         {on_chain(attestation_hex(level + 5, 0), 4), on_chain(attestation_hex(level - 1, 0, 7), 4),
          on_chain(attestation_hex(level + 1, 0), 5), on_chain(block_hex(level + 1, 0), 4)}) {
      c.send(request("POST", kKeyPath + "?authentication=" + auth, quoted(other)));
      auto r = c.read_reply(5s);
      ASSERT_TRUE(r.has_value());
      EXPECT_EQ(r->status, 500);
      EXPECT_NE(r->body.find("invalid authentication signature"), std::string::npos) << r->body;
    }
    c.send(request("POST", kKeyPath + "?authentication=" + auth, quoted(seen)));
    auto again = c.read_reply(5s);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->body, ok->body) << "a byte-identical retry gets the same signature";
  });
}

TEST_F(Hostile, JsonThatIsNotAStringIs400) {
  const std::string att = attestation_hex(5, 0);
  under_attack("JSON that is not a string", [&] {
    for (const std::string& body : {std::string("{\"a\":1}"), std::string("[\"" + att + "\"]"), std::string("12"),
                                    std::string("null"), std::string("true"), std::string("{\"data\":\"" + att + "\"}"),
                                    std::string(5000, '[') + std::string(5000, ']')}) {
      EXPECT_EQ(one_shot(port(), request("POST", signed_target(att), body)), 400) << body.substr(0, 40);
    }
  });
}

}  // namespace
}  // namespace pisigner::testing
