// The shared-watermark protocol on an in-memory etcd: decisions, lost races, unknown outcomes
// resolved by re-reading, NOSPACE, and two signers racing on one cluster.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "../test_util.hpp"
#include "memory_kv.hpp"
#include "protocol_fixtures.hpp"
#include "pisigner/hwm/etcd/cluster_watermark.hpp"
#include "pisigner/hwm/etcd/wire.hpp"
#include "pisigner/hwm/watermarks.hpp"

namespace pisigner::hwm::etcd {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using hwm::testing::digest;
using hwm::testing::make_key;
using testing::MemoryKv;
using Action = SharedVerdict::Action;

using testing::req;
using testing::test_signature;

ClusterOptions options(std::string node = "pi-a") {
  ClusterOptions o;
  o.node = std::move(node);
  o.budget = std::chrono::milliseconds(300);
  o.retry_backoff = std::chrono::milliseconds(1);
  o.workers = 2;
  return o;
}

class ClusterWatermarkTest : public ::testing::Test {
 protected:
  std::optional<StoredRecord> stored() {
    auto kv = kv_.raw(record_key(key_));
    if (!kv) return std::nullopt;
    auto r = decode_record(kv->value);
    EXPECT_TRUE(r.ok());
    return *r;
  }
  MemoryKv kv_;
  HwmKey key_ = make_key(tezos::Kind::Block);
  ClusterWatermark cluster_{kv_, options(), real_clock()};
};

TEST_F(ClusterWatermarkTest, FirstWriteCreatesTheRecordAndLaterOnesUseTheCache) {
  EXPECT_EQ(cluster_.advance(key_, req(10, 0, 1)).action, Action::Release);
  ASSERT_TRUE(stored());
  EXPECT_EQ(stored()->record.level, 10);
  EXPECT_EQ(stored()->record.hash, digest(1));
  EXPECT_EQ(stored()->node, "pi-a");
  EXPECT_EQ(kv_.reads, 1);

  EXPECT_EQ(cluster_.advance(key_, req(11, 0, 2)).action, Action::Release);
  EXPECT_EQ(stored()->record.level, 11);
  EXPECT_EQ(kv_.reads, 1) << "the second advance must use the cached mod_revision";
  EXPECT_EQ(kv_.txns, 2);
  EXPECT_EQ(cluster_.stats().writes.load(), 2u);
}

TEST_F(ClusterWatermarkTest, RefusesBelowAndDifferentDataAtTheStoredSlot) {
  ASSERT_EQ(cluster_.advance(key_, req(10, 1, 1)).action, Action::Release);
  auto below = cluster_.advance(key_, req(9, 5, 2));
  EXPECT_EQ(below.action, Action::Refuse);
  EXPECT_THAT(below.message, HasSubstr("below high watermark"));
  auto other = cluster_.advance(key_, req(10, 1, 2));
  EXPECT_EQ(other.action, Action::Refuse);
  EXPECT_THAT(other.message, HasSubstr("already signed with different data"));
  // The same bytes again: covered by the record, no write.
  const int txns = kv_.txns;
  EXPECT_EQ(cluster_.advance(key_, req(10, 1, 1)).action, Action::Release);
  EXPECT_EQ(kv_.txns, txns);
  EXPECT_EQ(stored()->record.hash, digest(1));
}

TEST_F(ClusterWatermarkTest, AStoredSignatureOfTheSameBytesIsReturned) {
  Record r{10, 0, digest(1), test_signature()};
  kv_.set_raw(record_key(key_), encode_record(r, "pi-b", 0));
  auto v = cluster_.advance(key_, req(10, 0, 1));
  ASSERT_EQ(v.action, Action::ReturnStored);
  EXPECT_EQ(v.signature, *r.signature);
}

TEST_F(ClusterWatermarkTest, ALostRaceAdoptsTheWinnersRecord) {
  ASSERT_EQ(cluster_.advance(key_, req(10, 0, 1)).action, Action::Release);  // cache at level 10
  // The other Pi signs level 11 with other data between our cached read and our txn.
  kv_.before_cas = [&] { kv_.set_raw(record_key(key_), encode_record(Record{11, 0, digest(7), {}}, "pi-b", 0)); };
  auto v = cluster_.advance(key_, req(11, 0, 2));
  EXPECT_EQ(v.action, Action::Refuse);
  EXPECT_THAT(v.message, HasSubstr("already signed with different data"));
  EXPECT_EQ(stored()->record.hash, digest(7)) << "the winner's record stays";
  EXPECT_EQ(cluster_.stats().lost_races.load(), 1u);
}

TEST_F(ClusterWatermarkTest, ALostRaceToALowerRecordRetriesFromIt) {
  ASSERT_EQ(cluster_.advance(key_, req(10, 0, 1)).action, Action::Release);
  kv_.before_cas = [&] { kv_.set_raw(record_key(key_), encode_record(Record{10, 3, digest(7), {}}, "pi-b", 0)); };
  EXPECT_EQ(cluster_.advance(key_, req(11, 0, 2)).action, Action::Release);
  EXPECT_EQ(stored()->record.level, 11);
  EXPECT_EQ(kv_.txns, 3);
}

TEST_F(ClusterWatermarkTest, AnUnknownOutcomeThatLandedIsResolvedByReadingIt) {
  ASSERT_EQ(cluster_.advance(key_, req(10, 0, 1)).action, Action::Release);
  kv_.fail_writes({MemoryKv::Fault::LandThenLoseReply});
  EXPECT_EQ(cluster_.advance(key_, req(11, 0, 2)).action, Action::Release);
  EXPECT_EQ(cluster_.stats().unknown_outcomes.load(), 1u);
  EXPECT_EQ(cluster_.stats().unknown_landed.load(), 1u);
  EXPECT_EQ(kv_.txns, 2) << "a landed write is not written again";
}

TEST_F(ClusterWatermarkTest, AnUnknownOutcomeThatDidNotLandIsWrittenAgain) {
  ASSERT_EQ(cluster_.advance(key_, req(10, 0, 1)).action, Action::Release);
  kv_.fail_writes({MemoryKv::Fault::LoseBeforeApply});
  EXPECT_EQ(cluster_.advance(key_, req(11, 0, 2)).action, Action::Release);
  EXPECT_EQ(cluster_.stats().unknown_landed.load(), 0u);
  EXPECT_EQ(kv_.txns, 3);
  EXPECT_EQ(stored()->record.level, 11);
}

TEST_F(ClusterWatermarkTest, AnOutcomeThatStaysUnknownReleasesNothing) {
  ASSERT_EQ(cluster_.advance(key_, req(10, 0, 1)).action, Action::Release);
  kv_.fail_writes({MemoryKv::Fault::LandThenLoseReply});
  kv_.fail_reads(1'000'000);
  auto v = cluster_.advance(key_, req(11, 0, 2));
  EXPECT_EQ(v.action, Action::Unavailable);
  EXPECT_THAT(v.message, HasSubstr("unknown"));
  EXPECT_EQ(cluster_.stats().refused_unavailable.load(), 1u);
}

TEST_F(ClusterWatermarkTest, NoSpaceRefusesAndSaysSo) {
  kv_.fail_writes({MemoryKv::Fault::NoSpace});
  auto v = cluster_.advance(key_, req(10, 0, 1));
  EXPECT_EQ(v.action, Action::Unavailable);
  EXPECT_THAT(v.message, HasSubstr("space exceeded"));
  EXPECT_EQ(cluster_.stats().refused_nospace.load(), 1u);
  EXPECT_FALSE(stored());
  EXPECT_EQ(cluster_.advance(key_, req(10, 0, 1)).action, Action::Release) << "recovers once the alarm is gone";
}

TEST_F(ClusterWatermarkTest, AWriteThatNeverLeftIsTriedAgain) {
  kv_.fail_writes({MemoryKv::Fault::NotApplied});
  EXPECT_EQ(cluster_.advance(key_, req(10, 0, 1)).action, Action::Release);
  EXPECT_EQ(stored()->record.level, 10);
}

// A probe that meets an election (no leader for a moment) waits for the next leader within the
// budget, as a signature would, instead of turning the Pi unhealthy for a whole health interval.
TEST_F(ClusterWatermarkTest, AProbeIsTriedAgainWithinTheBudgetAndSaysWhyWhenItRunsOut) {
  kv_.fail_writes({MemoryKv::Fault::NotApplied, MemoryKv::Fault::NotApplied});
  EXPECT_TRUE(cluster_.probe(0ms).ok());
  ASSERT_TRUE(kv_.raw("/pisigner/hwm/probe/pi-a"));
  EXPECT_TRUE(cluster_.probe(1h).ok()) << "fresh: no write needed";

  kv_.fail_writes(std::vector<MemoryKv::Fault>(1000, MemoryKv::Fault::NotApplied));
  const auto started = std::chrono::steady_clock::now();
  auto r = cluster_.probe(0ms);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("put refused"));
  EXPECT_GE(std::chrono::steady_clock::now() - started, options().budget) << "gave up before the budget";
}

TEST_F(ClusterWatermarkTest, AProbeStopsAtNoSpace) {
  kv_.fail_writes({MemoryKv::Fault::NoSpace, MemoryKv::Fault::NotApplied});
  auto r = cluster_.probe(0ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, KvError::Code::NoSpace);
}

TEST_F(ClusterWatermarkTest, AnUnreadableRecordIsNeverOverwritten) {
  kv_.set_raw(record_key(key_), "{\"v\":1,\"level\":\"ten\"}");
  auto v = cluster_.advance(key_, req(10, 0, 1));
  EXPECT_EQ(v.action, Action::Unavailable);
  EXPECT_THAT(v.message, HasSubstr("bad level"));
  EXPECT_EQ(kv_.txns, 0);
}

TEST(ClusterWatermarkLocal, AKeyAllowedLocalIsReleasedDegradedWhenTheClusterIsGone) {
  MemoryKv kv;
  auto o = options();
  const HwmKey local_key = make_key(tezos::Kind::Block, 1);
  const HwmKey strict_key = make_key(tezos::Kind::Block, 2);
  o.local_when_unavailable = [&](const tezos::PublicKeyHash& pkh) { return pkh == local_key.pkh; };
  ClusterWatermark cluster(kv, o, real_clock());
  kv.fail_reads(1'000'000);
  auto v = cluster.advance(local_key, req(10, 0, 1));
  EXPECT_EQ(v.action, Action::Release);
  EXPECT_TRUE(v.degraded);
  auto strict = cluster.advance(strict_key, req(10, 0, 1));
  EXPECT_EQ(strict.action, Action::Unavailable);
  EXPECT_FALSE(strict.degraded);
  EXPECT_EQ(cluster.stats().degraded.load(), 1u);
}

// Two Pis, each with a stale view of the other's writes, race different payloads on every slot:
// exactly one of them may release per (level, round).
TEST(ClusterWatermarkRace, TwoSignersReleaseExactlyOncePerSlot) {
  MemoryKv kv;
  ClusterWatermark a(kv, options("pi-a"), real_clock());
  ClusterWatermark b(kv, options("pi-b"), real_clock());
  const HwmKey key = make_key(tezos::Kind::Attestation);
  constexpr int kSlots = 300;
  std::atomic<int> released_a{0}, released_b{0}, refused{0};
  for (int level = 1; level <= kSlots; ++level) {
    auto fa = a.begin_advance(key, req(level, 0, static_cast<std::uint32_t>(2 * level)));
    auto fb = b.begin_advance(key, req(level, 0, static_cast<std::uint32_t>(2 * level + 1)));
    const auto va = fa.get();
    const auto vb = fb.get();
    const int released = (va.action == Action::Release) + (vb.action == Action::Release);
    ASSERT_EQ(released, 1) << "level " << level << ": " << va.message << " / " << vb.message;
    released_a += va.action == Action::Release;
    released_b += vb.action == Action::Release;
    refused += (va.action == Action::Refuse) + (vb.action == Action::Refuse);
  }
  EXPECT_EQ(refused.load(), kSlots);
  std::printf("race: pi-a released %d, pi-b released %d, refused %d\n", released_a.load(), released_b.load(),
              refused.load());
}

// The sign path's order: a shared refusal releases nothing and stores no signature locally.
TEST(ClusterWatermarkSignPath, ASharedRefusalReleasesNothingAndStoresNoSignature) {
  MemoryKv kv;
  ClusterWatermark cluster(kv, options(), real_clock());
  auto store = make_memory_store();
  Watermarks wm(*store, {}, &cluster);
  const HwmKey key = make_key(tezos::Kind::Block);
  kv.set_raw(record_key(key), encode_record(Record{10, 0, digest(7), {}}, "pi-b", 0));

  auto r = wm.sign_once(key, req(10, 0, 1), [] { return Result<std::string, std::string>(std::string("sigA")); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, AdvanceError::Code::Refused);
  EXPECT_THAT(r.error().message, HasSubstr("cluster high watermark"));
  auto local = store->get(key);
  ASSERT_TRUE(local.ok() && *local);
  EXPECT_FALSE((*local)->signature) << "an unreleased signature must not be answered later from the local store";
  EXPECT_EQ((*local)->hash, digest(7)) << "the local record follows the cluster's record at that slot";

  // A retry of the same payload is refused again, now by the local record.
  auto again = wm.sign_once(key, req(10, 0, 1), [] { return Result<std::string, std::string>(std::string("sigA")); });
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, AdvanceError::Code::Refused);
  // The payload the cluster holds can be signed here (the other Pi's signature was lost, say).
  auto theirs = wm.sign_once(key, req(10, 0, 7), [] { return Result<std::string, std::string>(std::string("sig7")); });
  ASSERT_TRUE(theirs.ok()) << theirs.error().message;
  EXPECT_EQ(*theirs, "sig7");

  // An unknown outcome that stays unknown: SharedUnavailable, nothing released.
  kv.fail_writes({MemoryKv::Fault::LandThenLoseReply});
  kv.fail_reads(1'000'000);
  auto unknown = wm.sign_once(key, req(11, 0, 2), [] { return Result<std::string, std::string>(std::string("sigB")); });
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, AdvanceError::Code::SharedUnavailable);
}

// A key with a watermark of its own (a Ledger) signs only once the slot is released: a refused or
// unavailable slot must not use up the device's slot.
TEST(ClusterWatermarkSignPath, AKeyWithItsOwnWatermarkSignsOnlyAfterTheVerdict) {
  MemoryKv kv;
  ClusterWatermark cluster(kv, options(), real_clock());
  auto store = make_memory_store();
  Watermarks wm(*store, {}, &cluster);
  const HwmKey key = make_key(tezos::Kind::Block);
  kv.set_raw(record_key(key), encode_record(Record{10, 0, digest(7), {}}, "pi-b", 0));
  Request r = req(10, 0, 1);
  r.key_keeps_watermark = true;
  int signed_ = 0;
  auto refused = wm.sign_once(key, r, [&] {
    ++signed_;
    return Result<std::string, std::string>(std::string("sigA"));
  });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(signed_, 0) << "the device was asked to sign a slot the cluster refused";
  kv.fail_writes({MemoryKv::Fault::NoSpace});
  Request next = req(11, 0, 1);
  next.key_keeps_watermark = true;
  auto unavailable = wm.sign_once(key, next, [&] {
    ++signed_;
    return Result<std::string, std::string>(std::string("sigB"));
  });
  ASSERT_FALSE(unavailable.ok());
  EXPECT_EQ(signed_, 0);
  auto retry = wm.sign_once(key, next, [&] {
    ++signed_;
    return Result<std::string, std::string>(std::string("sigB"));
  });
  ASSERT_TRUE(retry.ok()) << retry.error().message;
  EXPECT_EQ(signed_, 1);
}

TEST(ClusterWatermarkSignPath, ReleasedSignaturesAreKeptLocally) {
  MemoryKv kv;
  ClusterWatermark cluster(kv, options(), real_clock());
  auto store = make_memory_store();
  Watermarks wm(*store, {}, &cluster);
  const HwmKey key = make_key(tezos::Kind::Block);
  auto r = wm.sign_once(key, req(10, 0, 1), [] { return Result<std::string, std::string>(std::string("sigA")); });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "sigA");
  auto local = store->get(key);
  ASSERT_TRUE(local.ok() && *local && (*local)->signature);
  EXPECT_EQ(*(*local)->signature, "sigA");
}

}  // namespace
}  // namespace pisigner::hwm::etcd
