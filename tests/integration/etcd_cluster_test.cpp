// The etcd fixtures themselves: a real 3-member TLS cluster with RBAC forms, its JSON gateway takes
// the CN-less cert plus a token, members die and return, NOSPACE is raised and cleared, and the
// fault proxy blackholes, refuses and drops replies while the request lands.
#include <chrono>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <thread>

#include "support/daemon.hpp"
#include "support/etcd_cluster.hpp"
#include "support/fault_proxy.hpp"
#include "support/http.hpp"

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

}  // namespace
}  // namespace pisigner::testing
