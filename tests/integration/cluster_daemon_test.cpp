// Two real pisignerd, each with its own virtual Ledger on the same seed, sharing their high
// watermark through a real three-member etcd cluster (TLS, RBAC): races, failover, faults.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/daemon.hpp"
#include "support/etcd_cluster.hpp"
#include "support/fault_proxy.hpp"
#include "support/vledger.hpp"

namespace pisigner::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using nlohmann::json;

const std::string kKeyPath = std::string("/keys/") + kZebraTz1;

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::filesystem::path make_dir(const std::filesystem::path& p) {
  std::filesystem::create_directories(p);
  return p;
}

EtcdOptions etcd_options() {
  EtcdOptions o;
  o.quota_backend_bytes = 4u << 20;  // room for the NOSPACE test to fill quickly
  return o;
}

class TwoPis : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.ready());
    // The client key and password must not be world-readable (pisignerd refuses them).
    for (const auto& f : {cluster_.client_key(), cluster_.password_file()}) {
      std::filesystem::permissions(f, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    }
  }

  std::string cluster_section(const std::string& node, const std::vector<int>& order) const {
    std::vector<std::string> urls;
    for (int i : order) urls.push_back(cluster_.endpoint(i));
    return cluster_section(node, urls);
  }
  std::string cluster_section(const std::string& node, const std::vector<std::string>& urls) const {
    std::string endpoints;
    for (const auto& u : urls) endpoints += (endpoints.empty() ? "" : ", ") + quoted(u);
    return "[cluster]\nendpoints = [" + endpoints + "]\nca_file = " + quoted(cluster_.ca_file()) +
           "\ncert_file = " + quoted(cluster_.client_cert()) + "\nkey_file = " + quoted(cluster_.client_key()) +
           "\nuser = " + quoted(cluster_.user()) + "\npassword_file = " + quoted(cluster_.password_file()) +
           "\nnode = " + quoted(node) + "\ncall_timeout_ms = 700\nconnect_timeout_ms = 300\nbudget_ms = 2500\n";
  }

  std::string config(const std::filesystem::path& dir, const Vledger& ledger, const std::string& node,
                     const std::vector<int>& order, const std::string& key_extra = {}) const {
    std::vector<std::string> urls;
    for (int i : order) urls.push_back(cluster_.endpoint(i));
    return config(dir, ledger, node, urls, key_extra);
  }
  std::string config(const std::filesystem::path& dir, const Vledger& ledger, const std::string& node,
                     const std::vector<std::string>& urls, const std::string& key_extra = {}) const {
    return "[server]\nlisten = [\"127.0.0.1:0\"]\nadmin_listen = [\"127.0.0.1:0\"]\n"
           "[store]\npath = \"" + (dir / "store").string() + "\"\n"
           "[health]\ninterval_ms = 200\nmax_age_ms = 1500\n" +
           cluster_section(node, urls) +
           "[[key]]\nbackend = \"ledger\"\ndevice = \"tcp://127.0.0.1:" + std::to_string(ledger.apdu_port()) +
           "\"\npath = \"" + kLedgerPath + "\"\ncurve = \"ed25519\"\npkh = \"" + kZebraTz1 +
           "\"\ntimeout_ms = 1000\n" + key_extra;
  }

  void start_a(const std::string& key_extra = {}) {
    a_ = std::make_unique<Daemon>(make_dir(dir_.path() / "a"), config(dir_.path() / "a", ledger_a_, "pi-a", {0, 1, 2}, key_extra));
  }
  void start_b() {
    b_ = std::make_unique<Daemon>(make_dir(dir_.path() / "b"), config(dir_.path() / "b", ledger_b_, "pi-b", {1, 0, 2}));
  }

  // pi-a talking to member 0 through `proxy` first.
  void start_a_behind(const FaultProxy& proxy) {
    const std::vector<std::string> urls{"https://127.0.0.1:" + std::to_string(proxy.port()), cluster_.endpoint(1),
                                        cluster_.endpoint(2)};
    a_ = std::make_unique<Daemon>(make_dir(dir_.path() / "a"), config(dir_.path() / "a", ledger_a_, "pi-a", urls));
  }
  // A counter's value in /metrics text (0 when absent).
  static double metric(HttpClient& c, const std::string& series) {
    const std::string text = c.get("/metrics").body;
    const auto at = text.find("\n" + series + " ");
    return at == std::string::npos ? 0 : std::stod(text.substr(at + series.size() + 2));
  }

  static HttpResult sign(HttpClient& c, const std::string& hex) { return c.post(kKeyPath, quoted(hex)); }
  static std::string signature(const HttpResult& r) { return json::parse(r.body).at("signature").get<std::string>(); }

  // The level the cluster's attestation record holds for the Ledger key, or -1.
  int cluster_level(const std::string& kind) {
    auto [rc, out] = cluster_.etcdctl({"get", "--print-value-only",
                                       "/pisigner/hwm/v1/" + kind + "/NetXxkAx4woPLyu/" + kZebraTz1});
    if (rc != 0 || out.find("\"level\":") == std::string::npos) return -1;
    return std::stoi(out.substr(out.find("\"level\":") + 8));
  }

  static bool wait_authorized(HttpClient& c, int status, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (c.get("/authorized").status == status) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  TempDir dir_{"cluster-e2e"};
  EtcdCluster cluster_{make_dir(dir_.path() / "etcd"), etcd_options()};
  Vledger ledger_a_, ledger_b_;
  std::unique_ptr<Daemon> a_, b_;
};

// Both Pis are asked to sign different payloads at the same slot, at once, hundreds of times:
// exactly one signature per slot may leave the pair; the other gets octez's refusal.
TEST_F(TwoPis, RacingDifferentPayloadsReleaseOneSignaturePerSlot) {
  start_a();
  start_b();
  HttpClient ca = a_->client(), cb = b_->client();
  int only_a = 0, only_b = 0;
  constexpr int kRounds = 200;
  for (int level = 1; level <= kRounds; ++level) {
    auto fa = std::async(std::launch::async, [&] { return sign(ca, attestation_hex(level, 0, 1)); });
    auto fb = std::async(std::launch::async, [&] { return sign(cb, attestation_hex(level, 0, 2)); });
    const HttpResult ra = fa.get(), rb = fb.get();
    ASSERT_EQ((ra.status == 200) + (rb.status == 200), 1)
        << "level " << level << ": A " << ra.status << " " << ra.body << " / B " << rb.status << " " << rb.body;
    const HttpResult& loser = ra.status == 200 ? rb : ra;
    EXPECT_EQ(loser.status, 500) << loser.body;
    EXPECT_THAT(loser.body, HasSubstr("\"kind\":\"temporary\"")) << loser.body;
    (ra.status == 200 ? only_a : only_b)++;
  }
  std::printf("race: %d rounds, pi-a won %d, pi-b won %d\n", kRounds, only_a, only_b);
  EXPECT_EQ(cluster_level("attestation"), kRounds);

  // The same payload on both: the same (deterministic) signature from each.
  for (int level = kRounds + 1; level <= kRounds + 20; ++level) {
    auto fa = std::async(std::launch::async, [&] { return sign(ca, attestation_hex(level, 0, 9)); });
    auto fb = std::async(std::launch::async, [&] { return sign(cb, attestation_hex(level, 0, 9)); });
    const HttpResult ra = fa.get(), rb = fb.get();
    ASSERT_EQ(ra.status, 200) << ra.body;
    ASSERT_EQ(rb.status, 200) << rb.body;
    EXPECT_EQ(signature(ra), signature(rb));
  }
}

TEST_F(TwoPis, TheStandbyRefusesWhatThePrimarySignedAndEverythingBelow) {
  start_a();
  start_b();
  HttpClient ca = a_->client(), cb = b_->client();
  struct Kind {
    const char* name;
    std::string (*hex)(std::int32_t, std::int32_t, std::uint8_t);
    std::int32_t level;  // rising from kind to kind: each Ledger keeps one watermark of its own
  };
  for (const Kind& k : {Kind{"block", block_hex, 500}, Kind{"preattestation", preattestation_hex, 600},
                        Kind{"attestation", attestation_hex, 700}}) {
    const std::int32_t L = k.level;
    ASSERT_EQ(sign(ca, k.hex(L, 0, 1)).status, 200) << k.name;
    auto same_slot = sign(cb, k.hex(L, 0, 2));
    EXPECT_EQ(same_slot.status, 500) << k.name;
    EXPECT_THAT(same_slot.body, HasSubstr("cluster high watermark")) << k.name;
    EXPECT_EQ(sign(cb, k.hex(L - 1, 5, 2)).status, 500) << k.name;
    EXPECT_EQ(sign(cb, k.hex(1, 0, 2)).status, 500) << k.name;
    // The primary's payload at that slot, retried on the standby (the primary's reply was lost):
    // the same bytes, the same signature. The standby's Ledger never signed the refused payload.
    auto again = sign(cb, k.hex(L, 0, 1));
    EXPECT_EQ(again.status, 200) << k.name << " " << again.body;
    EXPECT_EQ(cluster_level(k.name), L) << k.name;
    // The standby takes over: the primary now refuses what the standby signed.
    ASSERT_EQ(sign(cb, k.hex(L + 1, 0, 2)).status, 200) << k.name;
    auto primary = sign(ca, k.hex(L + 1, 0, 1));
    EXPECT_EQ(primary.status, 500) << k.name;
    EXPECT_THAT(primary.body, HasSubstr("cluster high watermark")) << k.name;
    EXPECT_EQ(cluster_level(k.name), L + 1) << k.name;
  }
}

// A stream of attestations while the etcd leader is SIGKILLed and later the member the primary
// talks to: refusals are allowed during the election, a released signature never lacks its record.
TEST_F(TwoPis, LeaderAndLocalMemberKilledMidStream) {
  start_a();
  start_b();
  HttpClient ca = a_->client(), cb = b_->client();
  int level = 0, released = 0, refused = 0, last_released = 0;
  auto stream_for = [&](std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) {
      auto r = sign(ca, attestation_hex(++level, 0, 1));
      if (r.status == 200) {
        ++released;
        last_released = level;
      } else {
        ++refused;
        EXPECT_EQ(r.status, 503) << r.body;
      }
    }
  };
  stream_for(500ms);
  const int leader = cluster_.leader();
  ASSERT_GE(leader, 0);
  cluster_.kill(leader);
  const int before_kill = released;
  stream_for(4000ms);
  EXPECT_GT(released, before_kill) << "signing resumed after the new election";
  cluster_.start(leader);
  ASSERT_GE(cluster_.wait_for_leader(20s), 0);
  cluster_.kill(0);  // the member pi-a lists first
  const int before_local = released;
  stream_for(3000ms);
  EXPECT_GT(released, before_local) << "pi-a failed over to another member";
  cluster_.start(0);
  std::printf("stream: %d released, %d refused (503) across two kills\n", released, refused);
  EXPECT_GE(cluster_level("attestation"), last_released) << "a released signature without its cluster record";
  auto standby = sign(cb, attestation_hex(last_released, 0, 2));
  EXPECT_EQ(standby.status, 500) << standby.body;
}

// The member pi-a talks to accepts the txn and never answers: the signature waits for the re-read
// through another member, and leaves within the budget.
TEST_F(TwoPis, AMemberThatNeverAnswersCostsOneDeadline) {
  FaultProxy proxy(cluster_.client_port(0));
  start_a_behind(proxy);
  HttpClient ca = a_->client();
  ASSERT_EQ(sign(ca, attestation_hex(1, 0, 1)).status, 200);  // token, cache, a pooled connection
  proxy.set_mode(FaultProxy::Mode::Blackhole);
  const auto t0 = std::chrono::steady_clock::now();
  auto pending = std::async(std::launch::async, [&] { return sign(ca, attestation_hex(2, 0, 1)); });
  // Meanwhile the I/O threads answer health at once: the sign waits on the sign pool.
  std::this_thread::sleep_for(100ms);
  HttpClient health = a_->client();
  const auto h0 = std::chrono::steady_clock::now();
  EXPECT_NE(health.get("/healthz").status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - h0, 200ms) << "/healthz waited behind a sign on etcd";
  auto r = pending.get();
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_LT(took, 2500ms);
  std::printf("hung member: signature after %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_EQ(sign(ca, attestation_hex(3, 0, 1)).status, 200);
  EXPECT_EQ(cluster_level("attestation"), 3);
  proxy.set_mode(FaultProxy::Mode::Refuse);  // what it held is never delivered
}

// The txn lands, its reply is lost: pisignerd releases the signature only after reading its own
// record back.
TEST_F(TwoPis, AReplyLostAfterTheWriteLandedIsResolvedByReading) {
  FaultProxy proxy(cluster_.client_port(0));
  start_a_behind(proxy);
  HttpClient ca = a_->client();
  ASSERT_EQ(sign(ca, attestation_hex(1, 0, 1)).status, 200);
  proxy.set_mode(FaultProxy::Mode::DropReplies);
  auto r = sign(ca, attestation_hex(2, 0, 1));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_GT(proxy.bytes_dropped(), 0u);
  EXPECT_EQ(cluster_level("attestation"), 2);
  std::this_thread::sleep_for(500ms);  // the counters reach /metrics with the next health probe
  EXPECT_EQ(metric(ca, "pisigner_cluster_unknown_outcomes_total{resolved=\"landed\"}"), 1);
}

TEST_F(TwoPis, QuorumLossRefusesAndTurnsRedThenRecoversWithoutRestart) {
  start_a();
  HttpClient ca = a_->client();
  ASSERT_EQ(sign(ca, attestation_hex(1, 0, 1)).status, 200);
  ASSERT_TRUE(wait_authorized(ca, 200, 3s));
  cluster_.kill(1);
  cluster_.kill(2);
  auto r = sign(ca, attestation_hex(2, 0, 1));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_THAT(r.body, HasSubstr("cluster watermark unavailable"));
  EXPECT_TRUE(wait_authorized(ca, 503, 4s)) << "/authorized must turn red without a quorum";
  auto status = json::parse(ca.get("/status").body);
  EXPECT_EQ(status["cluster"]["node"], "pi-a");
  auto [rc, text] = run_command({pisignerctl_path(), "status", "--url", "http://127.0.0.1:" + std::to_string(a_->port())});
  EXPECT_EQ(rc, 1) << text;
  EXPECT_THAT(text, HasSubstr("ETCD CLUSTER (shared watermark, this node: pi-a)"));
  EXPECT_THAT(text, HasSubstr("cluster_writable"));
  cluster_.start(1);
  cluster_.start(2);
  ASSERT_GE(cluster_.wait_for_leader(20s), 0);
  EXPECT_TRUE(wait_authorized(ca, 200, 10s)) << "green again once the quorum is back";
  EXPECT_EQ(sign(ca, attestation_hex(3, 0, 1)).status, 200);
  EXPECT_TRUE(a_->process().running());
  auto metrics = ca.get("/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("pisigner_cluster_refusals_total{cause=\"unavailable\"}"));
  EXPECT_THAT(metrics, HasSubstr("pisigner_cluster_member_leader"));
  EXPECT_THAT(metrics, HasSubstr("pisigner_cluster_cas_duration_seconds_bucket"));
}

TEST_F(TwoPis, NoSpaceRefusesAndTurnsRedUntilCleared) {
  start_a();
  HttpClient ca = a_->client();
  ASSERT_EQ(sign(ca, attestation_hex(1, 0, 1)).status, 200);
  ASSERT_TRUE(cluster_.raise_nospace());
  auto r = sign(ca, attestation_hex(2, 0, 1));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_THAT(r.body, HasSubstr("space exceeded"));
  EXPECT_TRUE(wait_authorized(ca, 503, 4s));
  ASSERT_TRUE(cluster_.clear_nospace());
  EXPECT_TRUE(wait_authorized(ca, 200, 6s));
  // The same request again: the refused slot was not used up on the Ledger.
  auto retry = sign(ca, attestation_hex(2, 0, 1));
  EXPECT_EQ(retry.status, 200) << retry.body;
}

TEST_F(TwoPis, AKeyAllowedLocalSignsAloneWhenTheClusterIsGone) {
  start_a("on_cluster_unavailable = \"local\"\n");
  HttpClient ca = a_->client();
  ASSERT_EQ(sign(ca, attestation_hex(1, 0, 1)).status, 200);
  cluster_.kill(1);
  cluster_.kill(2);
  EXPECT_EQ(sign(ca, attestation_hex(2, 0, 1)).status, 200);
  EXPECT_EQ(sign(ca, attestation_hex(2, 0, 2)).status, 500) << "the local watermark still holds";
  EXPECT_THAT(a_->log(), HasSubstr("on the local watermark alone"));
}

TEST_F(TwoPis, CtlShowsBothSidesAndPushOnlyRaises) {
  start_a();
  HttpClient ca = a_->client();
  ASSERT_EQ(sign(ca, attestation_hex(7, 0, 1)).status, 200);
  const std::string cfg = (dir_.path() / "a" / "pisigner.toml").string();
  auto [rc, out] = run_command({pisignerctl_path(), "hwm", "show", "--config", cfg});
  ASSERT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("LOCAL"));
  EXPECT_THAT(out, HasSubstr("CLUSTER"));
  EXPECT_THAT(out, HasSubstr("7/0          7/0 pi-a"));
  std::size_t start = 0;
  for (std::size_t end; (end = out.find('\n', start)) != std::string::npos; start = end + 1) {
    EXPECT_LE(end - start, 80u) << out.substr(start, end - start);
  }

  ASSERT_EQ(a_->stop(), 0);
  auto [rc_set, out_set] = run_command({pisignerctl_path(), "hwm", "set", "--config", cfg, "--kind", "attestation",
                                        "--chain", "NetXxkAx4woPLyu", "--pkh", kZebraTz1, "--level", "40", "--round",
                                        "0", "-y"});
  ASSERT_EQ(rc_set, 0) << out_set;
  auto [rc_push, out_push] = run_command({pisignerctl_path(), "hwm", "push", "--config", cfg, "-y"});
  ASSERT_EQ(rc_push, 0) << out_push;
  EXPECT_THAT(out_push, HasSubstr("1 raised"));
  EXPECT_EQ(cluster_level("attestation"), 40);

  auto [rc_low, out_low] = run_command({pisignerctl_path(), "hwm", "set", "--config", cfg, "--kind", "attestation",
                                        "--chain", "NetXxkAx4woPLyu", "--pkh", kZebraTz1, "--level", "3", "--round",
                                        "0", "-y"});
  ASSERT_EQ(rc_low, 0) << out_low;
  auto [rc_again, out_again] = run_command({pisignerctl_path(), "hwm", "push", "--config", cfg, "-y"});
  ASSERT_EQ(rc_again, 0) << out_again;
  EXPECT_THAT(out_again, HasSubstr("nothing to push"));
  EXPECT_EQ(cluster_level("attestation"), 40) << "push never lowers the cluster";
}

TEST_F(TwoPis, CheckConfigNamesUnusableClusterFiles) {
  const auto dir = make_dir(dir_.path() / "c");
  std::string text = config(dir, ledger_a_, "pi-a", {0, 1, 2});
  const std::string ca = cluster_.ca_file();
  text.replace(text.find(ca), ca.size(), (dir / "missing-ca.crt").string());
  write_config(dir / "pisigner.toml", text);
  auto [rc, out] = run_command({pisignerd_path(), "--check-config", (dir / "pisigner.toml").string()});
  EXPECT_EQ(rc, 78) << out;
  EXPECT_THAT(out, HasSubstr("missing-ca.crt"));

  std::filesystem::permissions(cluster_.password_file(), std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  write_config(dir / "pisigner.toml", config(dir, ledger_a_, "pi-a", {0, 1, 2}));
  auto [rc2, out2] = run_command({pisignerd_path(), "--check-config", (dir / "pisigner.toml").string()});
  EXPECT_EQ(rc2, 78) << out2;
  EXPECT_THAT(out2, HasSubstr("readable by every user"));
}

}  // namespace
}  // namespace pisigner::testing
