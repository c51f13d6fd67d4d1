// The etcd client and the shared-watermark protocol against a real three-member etcd 3.4 cluster
// (TLS, RBAC, a CN-less client certificate and a password token): CAS, lost tokens, NOSPACE, a
// member that never answers, replies lost after the write landed, hostile replies, and several
// keys' CAS in one txn (group commit).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "pisigner/clock.hpp"
#include "pisigner/hwm/etcd/client.hpp"
#include "pisigner/hwm/etcd/cluster_watermark.hpp"
#include "pisigner/hwm/etcd/wire.hpp"
#include "support/daemon.hpp"
#include "support/etcd_cluster.hpp"
#include "support/fake_gateway.hpp"
#include "support/fault_proxy.hpp"

namespace pisigner::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using hwm::etcd::Client;
using hwm::etcd::ClientOptions;
using hwm::etcd::ClusterWatermark;
using hwm::etcd::KvError;
using Action = hwm::SharedVerdict::Action;

hwm::HwmKey test_key(std::uint8_t n = 1) {
  hwm::HwmKey k;
  k.kind = tezos::Kind::Attestation;
  k.chain = tezos::kMainnetChainId;
  k.pkh.curve = crypto::Curve::Ed25519;
  k.pkh.hash.fill(n);
  return k;
}

hwm::Request request(std::int32_t level, std::uint8_t payload) {
  hwm::Request r;
  r.level = level;
  r.round = 0;
  r.hash.fill(payload);
  r.deterministic = true;
  return r;
}

class EtcdClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.ready()); }

  ClientOptions options(std::vector<std::string> endpoints = {}) const {
    ClientOptions o;
    o.endpoints = endpoints.empty() ? cluster_.endpoints() : std::move(endpoints);
    o.ca_file = cluster_.ca_file();
    o.cert_file = cluster_.client_cert();
    o.key_file = cluster_.client_key();
    o.user = cluster_.user();
    o.password = cluster_.password();
    o.call_timeout = 1000ms;
    o.connect_timeout = 300ms;
    return o;
  }
  std::unique_ptr<Client> client(std::vector<std::string> endpoints = {}) {
    auto c = Client::create(options(std::move(endpoints)));
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error());
    return c.ok() ? std::move(c).value() : nullptr;
  }
  std::string proxied(const FaultProxy& p) const { return "https://127.0.0.1:" + std::to_string(p.port()); }

  TempDir dir_{"etcd-client"};
  EtcdCluster cluster_{dir_.path(), [] {
                         EtcdOptions o;
                         o.quota_backend_bytes = 4u << 20;
                         return o;
                       }()};
};

TEST_F(EtcdClientTest, CompareAndSetOnTheRealGateway) {
  auto c = client();
  ASSERT_TRUE(c);
  const std::string key = "/pisigner/hwm/v1/test/a";
  auto absent = c->get(key);
  ASSERT_TRUE(absent.ok()) << absent.error().message;
  EXPECT_FALSE(*absent);

  auto created = c->cas(key, 0, "one");
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_TRUE(created->succeeded);
  const auto rev = created->header.revision;

  auto again = c->cas(key, 0, "other");  // CREATE == 0 no longer holds
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->succeeded);
  ASSERT_TRUE(again->current);
  EXPECT_EQ(again->current->value, "one");
  EXPECT_EQ(again->current->mod_revision, rev);

  auto next = c->cas(key, rev, "two");
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->succeeded);
  auto stale = c->cas(key, rev, "three");  // the revision behind this decision is gone
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(stale->succeeded);
  EXPECT_EQ(stale->current->value, "two");

  auto read = c->get(key);
  ASSERT_TRUE(read.ok() && *read);
  EXPECT_EQ((*read)->value, "two");
  auto list = c->list("/pisigner/hwm/");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);

  // RBAC: outside the signer's prefix nothing is allowed, and nothing is applied.
  auto denied = c->cas("/elsewhere", 0, "x");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, KvError::Code::NotApplied);
  EXPECT_THAT(denied.error().message, HasSubstr("permission denied"));

  int leaders = 0;
  for (std::size_t i = 0; i < c->members(); ++i) {
    auto s = c->status(i);
    EXPECT_TRUE(s.reachable) << s.error;
    EXPECT_GT(s.raft_term, 0);
    leaders += s.leader;
  }
  EXPECT_EQ(leaders, 1);
}

// Group commit on the real gateway: several keys' CAS in one txn land together at one revision or
// not at all, a key written twice in a txn is refused by etcd (hence never sent), and two signers
// racing on 8 keys through batched txns release each slot once and leave consistent records.
TEST_F(EtcdClientTest, GroupCommitOnTheRealCluster) {
  auto c = client();
  ASSERT_TRUE(c);
  using hwm::etcd::CasOp;
  const std::vector<CasOp> created = {{"/pisigner/hwm/v1/test/b0", 0, "x0"}, {"/pisigner/hwm/v1/test/b1", 0, "x1"}};
  auto both = c->cas_batch(created);
  ASSERT_TRUE(both.ok()) << both.error().message;
  ASSERT_TRUE(both->succeeded);
  const auto rev = both->header.revision;
  for (const auto& op : created) {
    auto kv = c->get(op.key);
    ASSERT_TRUE(kv.ok() && *kv);
    EXPECT_EQ((*kv)->mod_revision, rev) << "one txn, one revision for every key in it";
  }
  // b1's compare is stale: nothing lands, not even b0's, and every key's record comes back.
  const std::vector<CasOp> stale = {{"/pisigner/hwm/v1/test/b0", rev, "y0"}, {"/pisigner/hwm/v1/test/b1", 0, "y1"}};
  auto failed = c->cas_batch(stale);
  ASSERT_TRUE(failed.ok()) << failed.error().message;
  EXPECT_FALSE(failed->succeeded);
  ASSERT_EQ(failed->current.size(), 2u);
  ASSERT_TRUE(failed->current[0] && failed->current[1]);
  EXPECT_EQ(failed->current[0]->value, "x0");
  EXPECT_EQ(failed->current[1]->mod_revision, rev);
  const std::vector<CasOp> twice = {{"/pisigner/hwm/v1/test/b0", rev, "z0"}, {"/pisigner/hwm/v1/test/b0", rev, "z1"}};
  auto dup = c->cas_batch(twice);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, KvError::Code::NotApplied);
  EXPECT_THAT(dup.error().message, HasSubstr("duplicate key"));
  EXPECT_EQ((*c->get("/pisigner/hwm/v1/test/b0"))->value, "x0");

  // Two signers (two Pis, each with its own client), 8 keys, different payloads on every slot;
  // pi-a takes the keys upwards and pi-b downwards so that batches hold keys the other has won.
  auto cb = client();
  ASSERT_TRUE(cb);
  auto options = [](std::string node) {
    return hwm::etcd::ClusterOptions{std::move(node), 5000ms, 8, 20ms, 16, nullptr};
  };
  ClusterWatermark a(*c, options("pi-a"), real_clock());
  ClusterWatermark b(*cb, options("pi-b"), real_clock());
  std::vector<hwm::HwmKey> keys;
  for (std::uint8_t i = 1; i <= 8; ++i) keys.push_back(test_key(i));
  constexpr int kLevels = 40;
  std::vector<std::uint8_t> winner(keys.size());
  for (int level = 1; level <= kLevels; ++level) {
    std::vector<std::future<hwm::SharedVerdict>> fa(keys.size()), fb(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::size_t j = keys.size() - 1 - i;
      fa[i] = a.begin_advance(keys[i], request(level, static_cast<std::uint8_t>(2 * i + 1)));
      fb[j] = b.begin_advance(keys[j], request(level, static_cast<std::uint8_t>(2 * j + 2)));
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const auto va = fa[i].get(), vb = fb[i].get();
      ASSERT_EQ((va.action == Action::Release) + (vb.action == Action::Release), 1)
          << "key " << i << " level " << level << ": " << va.message << " / " << vb.message;
      EXPECT_EQ((va.action == Action::Refuse) + (vb.action == Action::Refuse), 1) << va.message << " / " << vb.message;
      winner[i] = static_cast<std::uint8_t>(va.action == Action::Release ? 2 * i + 1 : 2 * i + 2);
    }
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {  // each record: the last slot, the payload released
    auto kv = c->get(hwm::etcd::record_key(keys[i]));
    ASSERT_TRUE(kv.ok() && *kv);
    auto rec = hwm::etcd::decode_record((*kv)->value);
    ASSERT_TRUE(rec.ok());
    EXPECT_EQ(rec->record.level, kLevels);
    EXPECT_EQ(rec->record.hash, request(kLevels, winner[i]).hash);
  }
  const auto attempts = [](const ClusterWatermark& w) {
    return w.stats().writes.load() + w.stats().lost_races.load() + w.stats().batch_retries.load();
  };
  EXPECT_GT(attempts(a) + attempts(b), a.stats().txns.load() + b.stats().txns.load())
      << "no txn carried several keys";
  std::printf("group commit race: %llu CAS in %llu txns\n",
              static_cast<unsigned long long>(attempts(a) + attempts(b)),
              static_cast<unsigned long long>(a.stats().txns.load() + b.stats().txns.load()));
}

TEST_F(EtcdClientTest, TokensLostInAMemberRestartAreRenewed) {
  auto c = client({cluster_.endpoint(0)});
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->put("/pisigner/hwm/probe/t", "1").ok());
  const auto auths = c->stats().reauthentications;
  cluster_.stop(0);
  cluster_.start(0);
  ASSERT_GE(cluster_.wait_for_leader(20s), 0);
  Result<void, KvError> put = fail(KvError{});
  for (int i = 0; i < 100 && !put.ok(); ++i) {  // the member needs a moment to rejoin
    put = c->put("/pisigner/hwm/probe/t", "2");
    if (!put.ok()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(put.ok()) << put.error().message;
  EXPECT_GT(c->stats().reauthentications, auths) << "the restarted member forgot the token";
}

TEST_F(EtcdClientTest, NoSpaceRefusesEverySignatureUntilCleared) {
  auto c = client();
  ASSERT_TRUE(c);
  ClusterWatermark wm(*c, hwm::etcd::ClusterOptions{"pi-a", 2000ms, 8, 20ms, 2, nullptr}, real_clock());
  ASSERT_EQ(wm.advance(test_key(), request(1, 1)).action, Action::Release);
  ASSERT_TRUE(cluster_.raise_nospace());
  auto v = wm.advance(test_key(), request(2, 2));
  EXPECT_EQ(v.action, Action::Unavailable);
  EXPECT_THAT(v.message, HasSubstr("space exceeded"));
  EXPECT_EQ(wm.stats().refused_nospace.load(), 1u);
  auto s = c->status(0);
  EXPECT_THAT(s.alarms, ::testing::Contains(HasSubstr("NOSPACE")));
  ASSERT_TRUE(cluster_.clear_nospace());
  EXPECT_EQ(wm.advance(test_key(), request(2, 2)).action, Action::Release);
}

TEST_F(EtcdClientTest, AMemberThatNeverAnswersCostsOneDeadline) {
  FaultProxy hung(cluster_.client_port(0), FaultProxy::Mode::Blackhole);
  auto c = client({proxied(hung), cluster_.endpoint(1), cluster_.endpoint(2)});
  ASSERT_TRUE(c);
  ClusterWatermark wm(*c, hwm::etcd::ClusterOptions{"pi-a", 3000ms, 8, 20ms, 2, nullptr}, real_clock());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(wm.advance(test_key(), request(1, 1)).action, Action::Release);
  const auto first = std::chrono::steady_clock::now() - start;
  EXPECT_LT(first, 2500ms) << "a hung member must cost at most its connect deadline";
  const auto again = std::chrono::steady_clock::now();
  EXPECT_EQ(wm.advance(test_key(), request(2, 2)).action, Action::Release);
  EXPECT_LT(std::chrono::steady_clock::now() - again, 500ms) << "the client stays on the member that answered";
  EXPECT_GE(c->stats().failovers, 1u);
}

// The txn reaches the member and lands; its reply never comes back. The signature must wait for the
// re-read that finds our record, never be released on hope.
TEST_F(EtcdClientTest, ALostReplyIsResolvedByReReadingWhenTheWriteLanded) {
  FaultProxy proxy(cluster_.client_port(0));
  auto c = client({proxied(proxy), cluster_.endpoint(1), cluster_.endpoint(2)});
  ASSERT_TRUE(c);
  ClusterWatermark wm(*c, hwm::etcd::ClusterOptions{"pi-a", 5000ms, 8, 20ms, 2, nullptr}, real_clock());
  ASSERT_EQ(wm.advance(test_key(), request(1, 1)).action, Action::Release);  // warm: token, cache
  proxy.set_mode(FaultProxy::Mode::DropReplies);
  EXPECT_EQ(wm.advance(test_key(), request(2, 2)).action, Action::Release);
  EXPECT_EQ(wm.stats().unknown_outcomes.load(), 1u);
  EXPECT_EQ(wm.stats().unknown_landed.load(), 1u) << "the re-read found our own write";
  EXPECT_GT(proxy.bytes_dropped(), 0u);
  auto stored = c->get(hwm::etcd::record_key(test_key()));
  ASSERT_TRUE(stored.ok() && *stored);
  EXPECT_EQ(hwm::etcd::decode_record((*stored)->value)->record.level, 2);
}

// The txn never reaches the member (the proxy holds it, then resets it): the re-read finds the old
// record and the CAS is made again through another member.
TEST_F(EtcdClientTest, ALostRequestIsResolvedByReReadingAndWritingAgain) {
  FaultProxy proxy(cluster_.client_port(0));
  auto o = options({proxied(proxy), cluster_.endpoint(1), cluster_.endpoint(2)});
  o.call_timeout = 300ms;
  auto made = Client::create(o);
  ASSERT_TRUE(made.ok());
  auto& c = *made.value();
  ClusterWatermark wm(c, hwm::etcd::ClusterOptions{"pi-a", 5000ms, 8, 20ms, 2, nullptr}, real_clock());
  ASSERT_EQ(wm.advance(test_key(), request(1, 1)).action, Action::Release);
  proxy.set_mode(FaultProxy::Mode::Blackhole);
  EXPECT_EQ(wm.advance(test_key(), request(2, 2)).action, Action::Release);
  proxy.set_mode(FaultProxy::Mode::Refuse);  // what it held is reset, never delivered
  EXPECT_EQ(wm.stats().unknown_outcomes.load(), 1u);
  EXPECT_EQ(wm.stats().unknown_landed.load(), 0u) << "the held request never reached the member";
  EXPECT_EQ(wm.stats().writes.load(), 2u);
}

TEST_F(EtcdClientTest, TwoOfThreeDownRefusesAndRecoversWithoutRestart) {
  auto c = client();
  ASSERT_TRUE(c);
  ClusterWatermark wm(*c, hwm::etcd::ClusterOptions{"pi-a", 2000ms, 8, 50ms, 2, nullptr}, real_clock());
  ASSERT_EQ(wm.advance(test_key(), request(1, 1)).action, Action::Release);
  cluster_.kill(1);
  cluster_.kill(2);
  auto v = wm.advance(test_key(), request(2, 2));
  EXPECT_EQ(v.action, Action::Unavailable) << v.message;
  EXPECT_FALSE(wm.probe(0ms).ok());
  cluster_.start(1);
  cluster_.start(2);
  ASSERT_GE(cluster_.wait_for_leader(20s), 0);
  hwm::SharedVerdict back;
  for (int i = 0; i < 50 && back.action != Action::Release; ++i) {
    back = wm.advance(test_key(), request(2, 2));
    if (back.action != Action::Release) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(back.action, Action::Release) << back.message;
}

TEST_F(EtcdClientTest, WrongCredentialsAndWrongCertificatesAreClearErrors) {
  auto o = options();
  o.password = "wrong";
  auto c = Client::create(o);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->get("/pisigner/hwm/x");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("authenticate as pisigner-a refused"));

  auto with_cn = options();
  with_cn.cert_file = cluster_.root_cert();  // a CN: the gateway refuses it
  with_cn.key_file = cluster_.root_key();
  auto cn = Client::create(with_cn);
  ASSERT_TRUE(cn.ok());
  auto rc = (*cn)->get("/pisigner/hwm/x");
  ASSERT_FALSE(rc.ok());
  EXPECT_THAT(rc.error().message, HasSubstr("CommonName"));

  auto missing = options();
  missing.ca_file = dir_.path() / "no-such-ca.crt";
  auto bad = Client::create(missing);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error(), HasSubstr("no-such-ca.crt"));
}

// A member (or something posing as one, with a certificate from the cluster's CA) that answers
// garbage: nothing is released, the error says what was wrong.
constexpr const char* kNoLeaderReply =
    R"({"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14})";
constexpr const char* kTimedOutReply =
    R"({"error":"etcdserver: request timed out","message":"etcdserver: request timed out","code":14})";
constexpr const char* kTxnOk =
    R"({"header":{"cluster_id":"1","member_id":"1","revision":"4","raft_term":"2"},"succeeded":true,)"
    R"("responses":[{"response_put":{"header":{"revision":"4"}}}]})";

std::uint16_t port_of(const std::string& url) { return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1))); }

// A member without a leader refuses a write before raft sees it: the next member is asked. Any
// other 503 (a timeout inside the member) may have been applied: a CAS is left to the re-read,
// while the probe's put, which may land twice, moves on.
TEST_F(EtcdClientTest, AMemberWithoutALeaderIsPassedOverForWritesAndNothingElseIs) {
  FakeGateway electing(cluster_.ca_file(), dir_.path());
  FakeGateway member(cluster_.ca_file(), dir_.path());
  member.reply_to_writes(200, kTxnOk);
  electing.reply_to_writes(503, kNoLeaderReply);
  auto o = options({electing.url(), member.url()});
  o.user.clear();
  {
    auto c = Client::create(o);  // the fakes serve one connection at a time: gone before the next client
    ASSERT_TRUE(c.ok()) << c.error();
    auto cas = (*c)->cas("/pisigner/hwm/t", 0, "1");
    ASSERT_TRUE(cas.ok()) << cas.error().message;
    EXPECT_TRUE(cas->succeeded);
    EXPECT_EQ(electing.writes(), 1);
    EXPECT_EQ(member.writes(), 1);
    EXPECT_EQ((*c)->stats().failovers, 1u);
  }
  electing.reply_to_writes(503, kTimedOutReply);
  {
    auto c = Client::create(o);
    ASSERT_TRUE(c.ok());
    auto cas = (*c)->cas("/pisigner/hwm/t", 0, "2");
    ASSERT_FALSE(cas.ok());
    EXPECT_EQ(cas.error().code, KvError::Code::Unknown) << cas.error().message;
    EXPECT_EQ(member.writes(), 1) << "a CAS that may have landed was sent elsewhere";
  }
  auto c = Client::create(o);
  ASSERT_TRUE(c.ok());
  auto put = (*c)->put("/pisigner/hwm/probe/t", "3");
  EXPECT_TRUE(put.ok()) << put.error().message;
  EXPECT_EQ(member.writes(), 2) << "the probe's put moves on";
}

// The flake this guards against: a Pi's own member is electing, the next one in its list is the
// cut-off Pi's, and the write waited a whole deadline on it although the client had already
// seen it go silent. A silent member is asked after the others until it answers again.
TEST_F(EtcdClientTest, ASilentMemberIsAskedLastUntilItAnswersAgain) {
  FakeGateway own(cluster_.ca_file(), dir_.path());
  FakeGateway far(cluster_.ca_file(), dir_.path());
  FakeGateway cloud(cluster_.ca_file(), dir_.path());
  FaultProxy tunnel(port_of(far.url()));
  own.reply_to_writes(503, kNoLeaderReply);
  far.reply_to_writes(200, kTxnOk);
  cloud.reply_to_writes(200, kTxnOk);
  auto o = options({own.url(), proxied(tunnel), cloud.url()});
  o.user.clear();
  o.call_timeout = 300ms;
  auto made = Client::create(o);
  ASSERT_TRUE(made.ok()) << made.error();
  auto& c = **made;
  ASSERT_TRUE(c.status(1).reachable) << "through the tunnel while it is up (leaves a pooled connection)";

  tunnel.set_mode(FaultProxy::Mode::Blackhole);
  EXPECT_FALSE(c.status(1).reachable);  // the member-status loop finds it silent
  const auto accepted = tunnel.connections_accepted();
  auto cas = c.cas("/pisigner/hwm/t", 0, "1");
  EXPECT_TRUE(cas.ok()) << cas.error().message;
  EXPECT_EQ(cloud.writes(), 1);
  EXPECT_EQ(tunnel.connections_accepted(), accepted) << "the silent member was asked before the cloud's";

  tunnel.set_mode(FaultProxy::Mode::Forward);
  ASSERT_TRUE(c.status(1).reachable);
  cloud.reply_to_writes(503, kNoLeaderReply);  // the preferred member now, and electing too
  cas = c.cas("/pisigner/hwm/t", 4, "2");
  EXPECT_TRUE(cas.ok()) << cas.error().message;
  EXPECT_EQ(far.writes(), 1) << "a member that answered again is in the rotation again";
}

// After a failover the client stays on the member that answered (the other Pi's, or the cloud's
// over the tunnel) while its own is away; once its own member answers a status with a leader, the
// calls go back to it. A farther member's status does not take the calls from a nearer one, nor
// does a member's status while it has no leader.
TEST_F(EtcdClientTest, CallsGoBackToTheNearestMemberOnceItHasALeaderAgain) {
  FakeGateway own(cluster_.ca_file(), dir_.path());
  FakeGateway far(cluster_.ca_file(), dir_.path());
  FakeGateway cloud(cluster_.ca_file(), dir_.path());
  own.reply_to_writes(503, kNoLeaderReply);
  far.reply_to_writes(200, kTxnOk);
  cloud.reply_to_writes(200, kTxnOk);
  auto o = options({own.url(), far.url(), cloud.url()});
  o.user.clear();
  auto made = Client::create(o);
  ASSERT_TRUE(made.ok()) << made.error();
  auto& c = **made;

  ASSERT_TRUE(c.cas("/pisigner/hwm/t", 0, "1").ok());
  EXPECT_EQ(far.writes(), 1);  // failed over: the own member had no leader

  own.reply_to_writes(200, kTxnOk);
  own.set_leader(false);
  ASSERT_TRUE(c.status(0).reachable);
  ASSERT_TRUE(c.cas("/pisigner/hwm/t", 4, "2").ok());
  EXPECT_EQ(far.writes(), 2) << "a member without a leader took the calls back";
  EXPECT_EQ(own.writes(), 1);

  ASSERT_TRUE(c.status(2).reachable);
  ASSERT_TRUE(c.cas("/pisigner/hwm/t", 4, "3").ok());
  EXPECT_EQ(far.writes(), 3) << "a farther member took the calls";
  EXPECT_EQ(cloud.writes(), 0);

  own.set_leader(true);
  ASSERT_TRUE(c.status(0).reachable);
  ASSERT_TRUE(c.cas("/pisigner/hwm/t", 4, "4").ok());
  EXPECT_EQ(own.writes(), 2) << "the calls did not go back to the own member";
  EXPECT_EQ(far.writes(), 3);
  const auto failovers = c.stats().failovers;
  ASSERT_TRUE(c.cas("/pisigner/hwm/t", 4, "5").ok());
  EXPECT_EQ(own.writes(), 3);
  EXPECT_EQ(c.stats().failovers, failovers);
}

TEST_F(EtcdClientTest, HostileRepliesReleaseNothing) {
  struct Case {
    const char* what;
    unsigned status;
    std::string body;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"not JSON", 200, "<html>hello</html>", "not JSON"},
      {"missing fields", 200, R"({"header":{"revision":"3"}})", "failure branch"},
      {"wrong base64", 200,
       R"({"header":{"revision":"3"},"responses":[{"response_range":{"kvs":[{"key":"-_-_","mod_revision":"3"}]}}]})",
       "base64"},
      {"huge body", 200, std::string(200 * 1024, 'x'), "larger than"},
      {"gateway error", 502, "bad gateway", "HTTP 502"},
  };
  for (const auto& tc : cases) {
    FakeGateway gateway(cluster_.ca_file(), dir_.path());
    gateway.reply_to_writes(tc.status, tc.body);
    auto o = options({gateway.url()});
    o.user.clear();
    auto c = Client::create(o);
    ASSERT_TRUE(c.ok()) << c.error();
    ClusterWatermark wm(**c, hwm::etcd::ClusterOptions{"pi-a", 500ms, 4, 10ms, 1, nullptr}, real_clock());
    auto v = wm.advance(test_key(), request(1, 1));
    EXPECT_EQ(v.action, Action::Unavailable) << tc.what;
    EXPECT_THAT(v.message, HasSubstr(tc.message)) << tc.what;
    EXPECT_GE(gateway.writes(), 1) << tc.what;
  }
}

}  // namespace
}  // namespace pisigner::testing
