// The etcd fixtures themselves: a real 3-member TLS cluster with RBAC forms, its JSON gateway takes
// the CN-less cert plus a token, members die and return, NOSPACE is raised and cleared, and the
// fault proxy blackholes, refuses and drops replies while the request lands.
#include <arpa/inet.h>
#include <chrono>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <utility>  // boost 1.74 asio/awaitable.hpp uses std::exchange without including it
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include "support/daemon.hpp"
#include "support/etcd_cluster.hpp"
#include "support/fault_proxy.hpp"

namespace pisigner::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Mode = FaultProxy::Mode;

std::string b64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
                 static_cast<unsigned char>(in[i + 2]);
    out += {t[v >> 18], t[v >> 12 & 63], t[v >> 6 & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {t[v >> 18], t[v >> 12 & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8;
    out += {t[v >> 18], t[v >> 12 & 63], t[v >> 6 & 63], '='};
  }
  return out;
}

std::string put_json(const std::string& key, const std::string& value) {
  return nlohmann::json{{"key", b64(key)}, {"value", b64(value)}}.dump();
}

struct Curl {
  int exit = 0;   // curl's exit code: 7 refused, 28 timeout, 52 empty reply, 56 receive failure
  int http = 0;   // 0 when no reply came
  std::string body;
};

// POSTs `json` to the gateway at `base` + `path` over mutual TLS with `cert`/`key`.
Curl curl(const EtcdCluster& c, const std::string& base, const std::string& path, const std::string& json,
          const std::string& cert, const std::string& key, const std::string& token = {}, int max_s = 5,
          std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "--max-time", std::to_string(max_s), "--cacert",
                                   c.ca_file(), "--cert", cert, "--key", key, "-H",
                                   "Content-Type: application/json", "-d", json, "-w", "\nHTTP %{http_code}\n"};
  if (!token.empty()) argv.insert(argv.end(), {"-H", "Authorization: " + token});
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(base + path);
  auto [rc, out] = run_command(argv);
  Curl r;
  r.exit = rc;
  auto at = out.rfind("\nHTTP ");
  if (at != std::string::npos) {
    r.http = std::atoi(out.c_str() + at + 6);
    r.body = out.substr(0, at);
  } else {
    r.body = out;
  }
  return r;
}

// A gateway token for the signer user, from /v3/auth/authenticate at `base`.
std::string authenticate(const EtcdCluster& c, const std::string& base) {
  auto r = curl(c, base, "/v3/auth/authenticate",
                nlohmann::json{{"name", c.user()}, {"password", c.password()}}.dump(), c.client_cert(),
                c.client_key());
  EXPECT_EQ(r.http, 200) << r.body;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("token") ? j["token"].get<std::string>() : "";
}

// The value stored at `key`, read as root straight from the members ("" if absent).
std::string stored(EtcdCluster& c, const std::string& key) {
  auto [rc, out] = c.etcdctl({"get", key, "--print-value-only"});
  EXPECT_EQ(rc, 0) << out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

long ms_since(Clock::time_point t) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

TEST(EtcdCluster, forms_three_tls_members_with_a_leader_and_auth) {
  TempDir dir("etcd");
  EtcdCluster c(dir.path());
  ASSERT_TRUE(c.ready());
  ASSERT_EQ(c.endpoints().size(), 3u);
  for (const auto& e : c.endpoints()) {
    EXPECT_EQ(e.rfind("https://127.0.0.1:", 0), 0u) << e;
    EXPECT_EQ(e.find(":2379"), std::string::npos) << "never the packaged etcd's port";
  }
  EXPECT_GE(c.wait_for_leader(5s), 0);
  auto [rc, out] = c.etcdctl({"member", "list"});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3) << out;
  EXPECT_EQ(c.etcdctl({"put", "/pisigner/hwm/fixture", "ok"}).first, 0);
  EXPECT_EQ(stored(c, "/pisigner/hwm/fixture"), "ok");
  std::tie(rc, out) = c.etcdctl({"role", "get", "pisigner"});
  EXPECT_NE(out.find("[/pisigner/hwm/, /pisigner/hwm0) (prefix /pisigner/hwm/)"), std::string::npos) << out;
  std::tie(rc, out) = c.etcdctl({"user", "get", c.user()});
  EXPECT_NE(out.find("Roles: pisigner"), std::string::npos) << out;

  struct stat st {};
  ASSERT_EQ(::stat(c.password_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(EtcdCluster, gateway_takes_the_cn_less_cert_and_a_token_within_the_prefix_only) {
  TempDir dir("etcd");
  EtcdCluster c(dir.path());
  ASSERT_TRUE(c.ready());
  const auto base = c.endpoint(1);
  const auto token = authenticate(c, base);
  ASSERT_FALSE(token.empty());

  auto r = curl(c, base, "/v3/kv/put", put_json("/pisigner/hwm/v1/a", "rec"), c.client_cert(), c.client_key(), token);
  EXPECT_EQ(r.http, 200) << r.body;
  EXPECT_EQ(stored(c, "/pisigner/hwm/v1/a"), "rec");

  r = curl(c, base, "/v3/kv/put", put_json("/elsewhere", "x"), c.client_cert(), c.client_key(), token);
  EXPECT_EQ(r.http, 403) << r.body;
  EXPECT_NE(r.body.find("permission denied"), std::string::npos) << r.body;
  EXPECT_EQ(stored(c, "/elsewhere"), "");

  r = curl(c, base, "/v3/kv/put", put_json("/pisigner/hwm/v1/b", "x"), c.client_cert(), c.client_key());
  EXPECT_EQ(r.http, 400) << "no token: " << r.body;
  EXPECT_NE(r.body.find("user name is empty"), std::string::npos) << r.body;

  // etcd 3.4: a client cert with a CN is refused by the gateway, token or not; this is why the
  // signer's gateway cert has no CN.
  r = curl(c, base, "/v3/kv/put", put_json("/pisigner/hwm/v1/c", "x"), c.root_cert(), c.root_key(), token);
  EXPECT_EQ(r.http, 400) << r.body;
  EXPECT_NE(r.body.find("CommonName of client sending a request against gateway will be ignored"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(stored(c, "/pisigner/hwm/v1/c"), "");
}

TEST(EtcdCluster, killed_leader_is_replaced_within_seconds_and_rejoins) {
  TempDir dir("etcd");
  EtcdCluster c(dir.path());
  ASSERT_TRUE(c.ready());
  const int old = c.wait_for_leader(5s);
  ASSERT_GE(old, 0);
  const auto t0 = Clock::now();
  c.kill(old);
  EXPECT_FALSE(c.running(old));
  const int now = c.wait_for_leader(5s);
  const long took = ms_since(t0);
  ASSERT_GE(now, 0) << "no new leader 5 s after the kill";
  std::cout << "new leader " << took << " ms after the kill\n";
  EXPECT_NE(now, old);
  EXPECT_LT(took, 5000);
  EXPECT_EQ(c.etcdctl({"put", "/pisigner/hwm/after-kill", "1"}).first, 0);

  c.start(old);
  int rc = 1;
  for (auto until = Clock::now() + 10s; rc != 0 && Clock::now() < until; std::this_thread::sleep_for(100ms)) {
    rc = c.etcdctl({"endpoint", "health", "--command-timeout=1s"}).first;
  }
  EXPECT_EQ(rc, 0) << "the killed member did not come back";
  auto [grc, out] = c.etcdctl({"get", "/pisigner/hwm/after-kill", "--print-value-only", "--consistency=s",
                               "--endpoints=" + c.endpoint(old)});
  EXPECT_EQ(out, "1\n") << "the restarted member did not catch up";
}

TEST(EtcdCluster, two_of_three_stopped_means_no_writes_until_they_return) {
  TempDir dir("etcd");
  EtcdCluster c(dir.path());
  ASSERT_TRUE(c.ready());
  const int leader = c.wait_for_leader(5s);
  ASSERT_GE(leader, 0);
  // The leader and one follower: SIGTERM on a leader takes seconds, stop() waits for it.
  const int follower = (leader + 1) % 3, survivor = (leader + 2) % 3;
  auto t0 = Clock::now();
  c.stop(leader);
  c.stop(follower);
  std::cout << "stopping the leader and a follower took " << ms_since(t0) << " ms\n";
  EXPECT_FALSE(c.running(leader));
  EXPECT_FALSE(c.running(follower));
  EXPECT_TRUE(c.running(survivor));

  auto [rc, out] = c.etcdctl({"put", "/pisigner/hwm/no-quorum", "x", "--command-timeout=1s"});
  EXPECT_NE(rc, 0) << "a write without quorum succeeded: " << out;
  EXPECT_EQ(c.leader(), -1);

  t0 = Clock::now();
  c.start(leader);
  c.start(follower);
  rc = 1;
  for (auto until = Clock::now() + 10s; rc != 0 && Clock::now() < until; std::this_thread::sleep_for(100ms)) {
    std::tie(rc, out) = c.etcdctl({"put", "/pisigner/hwm/quorum-back", "y", "--command-timeout=1s"});
  }
  EXPECT_EQ(rc, 0) << "no write 10 s after the restart: " << out;
  std::cout << "first write " << ms_since(t0) << " ms after the restart\n";
  EXPECT_GE(c.wait_for_leader(5s), 0);
}

TEST(EtcdCluster, nospace_alarm_is_raised_for_real_and_cleared) {
  TempDir dir("etcd");
  EtcdOptions o;
  o.quota_backend_bytes = 1024 * 1024;
  EtcdCluster c(dir.path(), o);
  ASSERT_TRUE(c.ready());
  const auto token = authenticate(c, c.endpoint(0));
  ASSERT_FALSE(token.empty());

  ASSERT_TRUE(c.raise_nospace());
  auto [rc, out] = c.etcdctl({"alarm", "list"});
  EXPECT_NE(out.find("NOSPACE"), std::string::npos) << out;
  auto r = curl(c, c.endpoint(0), "/v3/kv/put", put_json("/pisigner/hwm/v1/n", "x"), c.client_cert(), c.client_key(),
                token);
  EXPECT_EQ(r.http, 429) << r.body;
  EXPECT_NE(r.body.find("database space exceeded"), std::string::npos) << r.body;

  ASSERT_TRUE(c.clear_nospace());
  r = curl(c, c.endpoint(2), "/v3/kv/put", put_json("/pisigner/hwm/v1/n", "y"), c.client_cert(), c.client_key(),
           token);
  EXPECT_EQ(r.http, 200) << r.body;
  EXPECT_EQ(stored(c, "/pisigner/hwm/v1/n"), "y");
}

// One kept-alive plain HTTP/1.1 connection used request by request. Unlike HttpClient it never
// resends a request after EOF: a resend would hide whether the first one landed.
class OneConnection {
 public:
  explicit OneConnection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~OneConnection() { ::close(fd_); }
  bool connected() const { return connected_; }

  // POSTs `json`; the reply's status, or 0 on EOF or no complete reply within `timeout`.
  int post(const std::string& target, const std::string& json, std::chrono::milliseconds timeout) {
    return send(target, json) ? reply(timeout) : 0;
  }
  bool send(const std::string& target, const std::string& json) {
    if (!connected_) return false;
    const std::string req = "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
                            "Content-Length: " + std::to_string(json.size()) + "\r\n\r\n" + json;
    return ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
  }
  // Waits for the next reply: its status, or 0 on EOF or timeout (if none of it came, a later call
  // may still get it).
  int reply(std::chrono::milliseconds timeout) {
    boost::beast::http::response_parser<boost::beast::http::string_body> parser;
    const auto deadline = Clock::now() + timeout;
    while (!parser.is_done()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      pollfd p{fd_, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return 0;
      char buf[4096];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return 0;
      pending_.append(buf, static_cast<std::size_t>(n));
      for (std::size_t used = 1; used > 0 && !parser.is_done();) {
        boost::beast::error_code ec;
        used = parser.put(boost::asio::buffer(pending_), ec);
        if (ec && ec != boost::beast::http::error::need_more) return 0;
        pending_.erase(0, used);
      }
    }
    return static_cast<int>(parser.get().result_int());
  }

 private:
  int fd_;
  bool connected_ = false;
  std::string pending_;
};

std::string proxy_url(const FaultProxy& p) { return "https://127.0.0.1:" + std::to_string(p.port()); }

TEST(FaultProxy, forwards_blackholes_and_refuses_in_front_of_a_tls_member) {
  TempDir dir("etcd");
  EtcdCluster c(dir.path());
  ASSERT_TRUE(c.ready());
  const auto token = authenticate(c, c.endpoint(0));
  ASSERT_FALSE(token.empty());
  FaultProxy proxy(c.client_port(0));
  const auto put = [&](const std::string& key, int max_s) {
    return curl(c, proxy_url(proxy), "/v3/kv/put", put_json(key, "v"), c.client_cert(), c.client_key(), token, max_s);
  };

  auto r = put("/pisigner/hwm/fwd", 5);
  EXPECT_EQ(r.http, 200) << r.body;
  EXPECT_EQ(stored(c, "/pisigner/hwm/fwd"), "v");
  EXPECT_EQ(proxy.connections_accepted(), 1u);
  EXPECT_GT(proxy.bytes_to_member(), 0u);
  EXPECT_GT(proxy.bytes_to_client(), 0u);
  EXPECT_EQ(proxy.bytes_dropped(), 0u);

  proxy.set_mode(Mode::Blackhole);
  const auto to_member = proxy.bytes_to_member(), to_client = proxy.bytes_to_client();
  auto t0 = Clock::now();
  r = put("/pisigner/hwm/hole", 1);
  EXPECT_EQ(r.exit, 28) << "expected a curl timeout: " << r.body;
  EXPECT_EQ(r.http, 0);
  EXPECT_GE(ms_since(t0), 900);
  EXPECT_EQ(proxy.connections_accepted(), 2u) << "a blackhole accepts";
  EXPECT_EQ(proxy.bytes_to_member(), to_member);
  EXPECT_EQ(proxy.bytes_to_client(), to_client);
  EXPECT_EQ(stored(c, "/pisigner/hwm/hole"), "");

  proxy.set_mode(Mode::Refuse);
  t0 = Clock::now();
  r = put("/pisigner/hwm/refused", 5);
  EXPECT_EQ(r.exit, 7) << "expected connection refused: " << r.body;
  EXPECT_LT(ms_since(t0), 1000) << "a refusal is immediate";

  proxy.set_mode(Mode::Forward);
  r = put("/pisigner/hwm/back", 5);
  EXPECT_EQ(r.http, 200) << r.body;
  EXPECT_EQ(stored(c, "/pisigner/hwm/back"), "v");
}

TEST(FaultProxy, blackhole_pauses_a_kept_alive_connection_and_forward_resumes_it) {
  TempDir dir("etcd");
  EtcdOptions o;
  o.members = 1;
  o.tls = false;
  o.auth = false;
  EtcdCluster c(dir.path(), o);
  ASSERT_TRUE(c.ready());
  FaultProxy proxy(c.client_port(0));
  OneConnection conn(proxy.port());
  EXPECT_EQ(conn.post("/v3/kv/put", put_json("/pisigner/hwm/k1", "1"), 3s), 200);

  proxy.set_mode(Mode::Blackhole);
  ASSERT_TRUE(conn.send("/v3/kv/put", put_json("/pisigner/hwm/k2", "2")));
  EXPECT_EQ(conn.reply(500ms), 0) << "answered through a blackhole";
  EXPECT_EQ(stored(c, "/pisigner/hwm/k2"), "") << "forwarded through a blackhole";
  // The partition heals: the held request goes on and its reply comes back.
  proxy.set_mode(Mode::Forward);
  EXPECT_EQ(conn.reply(3s), 200);
  EXPECT_EQ(stored(c, "/pisigner/hwm/k2"), "2");
  EXPECT_EQ(proxy.connections_accepted(), 1u);

  // Refuse is a dead member: kept-alive connections are reset, new ones refused.
  OneConnection kept(proxy.port());
  EXPECT_EQ(kept.post("/v3/kv/put", put_json("/pisigner/hwm/k3", "3"), 3s), 200);
  proxy.set_mode(Mode::Refuse);
  const auto t0 = Clock::now();
  EXPECT_EQ(kept.post("/v3/kv/put", put_json("/pisigner/hwm/k4", "4"), 3s), 0);
  EXPECT_LT(ms_since(t0), 1000) << "a reset is immediate";
  EXPECT_EQ(stored(c, "/pisigner/hwm/k4"), "");
  EXPECT_FALSE(OneConnection(proxy.port()).connected());
}

// A fresh TLS connection per request (curl): the handshake passes, the put lands, no reply comes.
TEST(FaultProxy, drop_replies_lands_the_put_but_the_tls_client_never_hears_back) {
  TempDir dir("etcd");
  EtcdCluster c(dir.path());
  ASSERT_TRUE(c.ready());
  const auto token = authenticate(c, c.endpoint(0));
  ASSERT_FALSE(token.empty());
  FaultProxy proxy(c.client_port(0), Mode::DropReplies);

  for (const auto& [key, extra] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"/pisigner/hwm/drop-h1", {"--http1.1"}},
           {"/pisigner/hwm/drop-h2", {}},
           {"/pisigner/hwm/drop-tls12", {"--http1.1", "--tls-max", "1.2"}}}) {
    SCOPED_TRACE(key);
    const auto dropped = proxy.bytes_dropped();
    const auto t0 = Clock::now();
    auto r = curl(c, proxy_url(proxy), "/v3/kv/put", put_json(key, "landed"), c.client_cert(), c.client_key(), token,
                  5, extra);
    EXPECT_EQ(r.http, 0) << "a reply got through: " << r.body;
    EXPECT_NE(r.exit, 0);
    EXPECT_NE(r.exit, 28) << "the client should see the connection close, not time out: " << r.body;
    EXPECT_LT(ms_since(t0), 3000);
    EXPECT_GT(proxy.bytes_dropped(), dropped);
    EXPECT_EQ(stored(c, key), "landed") << "the put did not land";
  }
}

// A kept-alive connection switched to DropReplies after its first request (plain HTTP member).
TEST(FaultProxy, drop_replies_on_a_kept_alive_connection) {
  TempDir dir("etcd");
  EtcdOptions o;
  o.members = 1;
  o.tls = false;
  o.auth = false;
  EtcdCluster c(dir.path(), o);
  ASSERT_TRUE(c.ready());
  FaultProxy proxy(c.client_port(0));
  OneConnection conn(proxy.port());
  EXPECT_EQ(conn.post("/v3/kv/put", put_json("/pisigner/hwm/a", "1"), 3s), 200);
  EXPECT_EQ(proxy.bytes_dropped(), 0u);

  proxy.set_mode(Mode::DropReplies);
  const auto t0 = Clock::now();
  EXPECT_EQ(conn.post("/v3/kv/put", put_json("/pisigner/hwm/a", "2"), 3s), 0);
  const long took = ms_since(t0);
  EXPECT_GE(took, FaultProxy::kDropRepliesHold.count() - 20);
  EXPECT_LT(took, 2000) << "the proxy should close the client connection after the hold";
  EXPECT_GT(proxy.bytes_dropped(), 0u);
  EXPECT_EQ(stored(c, "/pisigner/hwm/a"), "2");

  proxy.set_mode(Mode::Forward);
  OneConnection again(proxy.port());
  EXPECT_EQ(again.post("/v3/kv/put", put_json("/pisigner/hwm/a", "3"), 3s), 200);
  EXPECT_EQ(stored(c, "/pisigner/hwm/a"), "3");
  EXPECT_EQ(proxy.connections_accepted(), 2u);
}

}  // namespace
}  // namespace pisigner::testing
