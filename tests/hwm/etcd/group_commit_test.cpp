// Group commit of the shared watermark: keys whose CAS wait together share one txn, which etcd
// applies all or nothing. A batch whose compare failed for one key must still release the others
// (sent again) and decide that key anew; an unknown outcome resolves each key of the batch by its
// own record; a key is never twice in one txn; the caps hold.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <numeric>
#include <thread>

#include "../test_util.hpp"
#include "memory_kv.hpp"
#include "protocol_fixtures.hpp"
#include "pisigner/hwm/etcd/cluster_watermark.hpp"
#include "pisigner/hwm/etcd/wire.hpp"

namespace pisigner::hwm::etcd {
namespace {

using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Le;
using hwm::testing::digest;
using hwm::testing::make_key;
using testing::MemoryKv;
using Action = SharedVerdict::Action;

using testing::req;
using testing::test_signature;

// Keys 1..n (the pkh byte).
std::vector<HwmKey> keys(int n) {
  std::vector<HwmKey> out;
  for (int i = 1; i <= n; ++i) out.push_back(make_key(tezos::Kind::Attestation, static_cast<std::uint8_t>(i)));
  return out;
}

class GroupCommitTest : public ::testing::Test {
 protected:
  ClusterOptions options() {
    ClusterOptions o;
    o.node = "pi-a";
    o.budget = std::chrono::milliseconds(5000);
    o.retry_backoff = std::chrono::milliseconds(1);
    o.workers = 16;
    return o;
  }
  void make(ClusterOptions o) { cluster_ = std::make_unique<ClusterWatermark>(kv_, std::move(o), real_clock()); }

  // The blocker key (pkh byte 99) starts a txn and holds it in flight until `n` CAS wait behind it;
  // `then` runs inside it before its compare (another signer's writes, faults for the next txn).
  std::future<SharedVerdict> hold_txn_until_waiting(std::size_t n, std::function<void()> then = {}) {
    auto in_flight = std::make_shared<std::atomic<bool>>(false);
    kv_.before_cas = [this, n, then, in_flight] {
      *in_flight = true;
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);  // a hang guard only
      while (cluster_->waiting_cas() < n && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
      if (then) then();
    };
    auto f = cluster_->begin_advance(blocker_, req(blocker_level_++, 0, 99));
    while (!*in_flight) std::this_thread::yield();
    return f;
  }

  // Every key at level 10 (payload 10), cached: the next CAS of each compares its mod_revision.
  void warm(const std::vector<HwmKey>& ks) {
    for (const auto& k : ks) ASSERT_EQ(cluster_->advance(k, req(10, 0, 10)).action, Action::Release);
    ASSERT_EQ(cluster_->advance(blocker_, req(blocker_level_++, 0, 99)).action, Action::Release);
    first_txn_ = kv_.batch_sizes.size();
  }
  std::vector<std::size_t> batches() const {
    return {kv_.batch_sizes.begin() + static_cast<std::ptrdiff_t>(first_txn_), kv_.batch_sizes.end()};
  }
  std::optional<Record> stored(const HwmKey& k) {
    auto kv = kv_.raw(record_key(k));
    if (!kv) return std::nullopt;
    auto r = decode_record(kv->value);
    EXPECT_TRUE(r.ok());
    return r->record;
  }
  void set_other_pi(const HwmKey& k, Record r) { kv_.set_raw(record_key(k), encode_record(r, "pi-b", 0)); }

  MemoryKv kv_;
  std::unique_ptr<ClusterWatermark> cluster_;
  const HwmKey blocker_ = make_key(tezos::Kind::Attestation, 99);
  std::int32_t blocker_level_ = 1;
  std::size_t first_txn_ = 0;
};

TEST_F(GroupCommitTest, KeysWaitingTogetherShareOneTxnAndALoneKeyIsSentAtOnce) {
  make(options());
  const auto ks = keys(8);
  warm(ks);
  EXPECT_THAT(kv_.batch_sizes, Each(1u)) << "one key at a time: each CAS sent at once, alone";

  auto blocker = hold_txn_until_waiting(8);
  std::vector<std::future<SharedVerdict>> fs;
  for (const auto& k : ks) fs.push_back(cluster_->begin_advance(k, req(11, 0, 11)));
  EXPECT_EQ(blocker.get().action, Action::Release);
  for (auto& f : fs) EXPECT_EQ(f.get().action, Action::Release);
  EXPECT_THAT(batches(), ElementsAre(1u, 8u)) << "the 8 keys that waited share the next txn";
  for (const auto& k : ks) EXPECT_EQ(stored(k)->level, 11);
  // One revision for the batch: every key's cached mod_revision is that txn's, so the next CAS of
  // each key (alone again) compares right and succeeds at once.
  for (const auto& k : ks) EXPECT_EQ(cluster_->advance(k, req(12, 0, 12)).action, Action::Release);
  EXPECT_EQ(cluster_->stats().lost_races.load(), 0u);
  EXPECT_EQ(cluster_->stats().writes.load(), 8u + 1 + 1 + 8 + 8);
  EXPECT_EQ(cluster_->stats().txns.load(), kv_.batch_sizes.size());
}

// The other Pi wrote one key between our read and the batch: the batch of 8 applies nothing. That
// key adopts the record and is refused; the seven others are sent again and released.
TEST_F(GroupCommitTest, OneKeysFailedCompareInABatchOfEight) {
  make(options());
  const auto ks = keys(8);
  warm(ks);
  auto blocker = hold_txn_until_waiting(8, [&] { set_other_pi(ks[3], Record{11, 0, digest(77), std::nullopt}); });
  std::vector<std::future<SharedVerdict>> fs;
  for (const auto& k : ks) fs.push_back(cluster_->begin_advance(k, req(11, 0, 11)));
  blocker.get();
  for (std::size_t i = 0; i < ks.size(); ++i) {
    auto v = fs[i].get();
    if (i == 3) {
      EXPECT_EQ(v.action, Action::Refuse);
      EXPECT_THAT(v.message, HasSubstr("already signed with different data"));
      ASSERT_TRUE(v.record);
      EXPECT_EQ(v.record->hash, digest(77));
      EXPECT_EQ(stored(ks[i])->hash, digest(77)) << "the winner's record stays";
    } else {
      EXPECT_EQ(v.action, Action::Release) << "key " << i << ": " << v.message;
      EXPECT_EQ(stored(ks[i])->level, 11);
      EXPECT_EQ(stored(ks[i])->hash, digest(11));
    }
  }
  const auto b = batches();
  ASSERT_GE(b.size(), 3u);
  EXPECT_EQ(b[1], 8u) << "the batch that failed";
  EXPECT_EQ(std::accumulate(b.begin() + 2, b.end(), std::size_t{0}), 7u) << "the seven sent again, nothing else";
  EXPECT_EQ(cluster_->stats().lost_races.load(), 1u);
  EXPECT_EQ(cluster_->stats().batch_retries.load(), 7u);
  EXPECT_EQ(cluster_->stats().refused_watermark.load(), 1u);
}

// Several keys of one batch lost, each differently: a refusal, a stored signature of our bytes, and
// a lower record to retry from. Each gets exactly the verdict it would have got alone.
TEST_F(GroupCommitTest, MixedOutcomesInOneFailedBatch) {
  make(options());
  const auto ks = keys(6);
  warm(ks);
  const std::string sig = test_signature();
  auto blocker = hold_txn_until_waiting(6, [&] {
    set_other_pi(ks[0], Record{11, 0, digest(70), std::nullopt});  // other data at our slot: refuse
    set_other_pi(ks[1], Record{11, 0, digest(11), sig});           // our bytes, signed there: theirs
    set_other_pi(ks[2], Record{10, 5, digest(71), std::nullopt});  // below us: CAS again from it
    set_other_pi(ks[3], Record{12, 0, digest(72), std::nullopt});  // above us: refuse
  });
  std::vector<std::future<SharedVerdict>> fs;
  for (const auto& k : ks) fs.push_back(cluster_->begin_advance(k, req(11, 0, 11)));
  blocker.get();
  std::vector<SharedVerdict> v;
  for (auto& f : fs) v.push_back(f.get());
  EXPECT_EQ(v[0].action, Action::Refuse);
  EXPECT_THAT(v[0].message, HasSubstr("different data"));
  EXPECT_EQ(v[1].action, Action::ReturnStored);
  EXPECT_EQ(v[1].signature, sig);
  EXPECT_EQ(v[2].action, Action::Release) << v[2].message;
  EXPECT_EQ(v[3].action, Action::Refuse);
  EXPECT_THAT(v[3].message, HasSubstr("below"));
  EXPECT_EQ(v[4].action, Action::Release) << v[4].message;
  EXPECT_EQ(v[5].action, Action::Release) << v[5].message;
  EXPECT_EQ(stored(ks[0])->hash, digest(70));
  EXPECT_EQ(stored(ks[1])->signature, sig);
  EXPECT_EQ(stored(ks[2])->level, 11);
  EXPECT_EQ(stored(ks[3])->level, 12);
  EXPECT_EQ(stored(ks[4])->level, 11);
  EXPECT_EQ(cluster_->stats().lost_races.load(), 4u);
  EXPECT_EQ(cluster_->stats().batch_retries.load(), 2u) << "keys 4 and 5: their own compare held";
  const auto b = batches();
  ASSERT_GE(b.size(), 3u);
  EXPECT_EQ(b[1], 6u);
  EXPECT_EQ(std::accumulate(b.begin() + 2, b.end(), std::size_t{0}), 3u) << "keys 2, 4 and 5 sent again";
}

// The batch's reply is lost after it landed: every key re-reads its own record, finds it, and is
// released without writing again.
TEST_F(GroupCommitTest, AnUnknownOutcomeOfABatchThatLanded) {
  make(options());
  const auto ks = keys(8);
  warm(ks);
  auto blocker = hold_txn_until_waiting(8, [&] { kv_.fail_writes({MemoryKv::Fault::LandThenLoseReply}); });
  std::vector<std::future<SharedVerdict>> fs;
  for (const auto& k : ks) fs.push_back(cluster_->begin_advance(k, req(11, 0, 11)));
  blocker.get();
  for (auto& f : fs) EXPECT_EQ(f.get().action, Action::Release);
  EXPECT_THAT(batches(), ElementsAre(1u, 8u)) << "a landed batch is not written again";
  EXPECT_EQ(cluster_->stats().unknown_outcomes.load(), 8u);
  EXPECT_EQ(cluster_->stats().unknown_landed.load(), 8u) << "each key found its own record";
  for (const auto& k : ks) EXPECT_EQ(stored(k)->hash, digest(11));
}

// The batch never reached etcd: every key re-reads its old record and writes again.
TEST_F(GroupCommitTest, AnUnknownOutcomeOfABatchThatDidNotLand) {
  make(options());
  const auto ks = keys(8);
  warm(ks);
  auto blocker = hold_txn_until_waiting(8, [&] { kv_.fail_writes({MemoryKv::Fault::LoseBeforeApply}); });
  std::vector<std::future<SharedVerdict>> fs;
  for (const auto& k : ks) fs.push_back(cluster_->begin_advance(k, req(11, 0, 11)));
  blocker.get();
  for (auto& f : fs) EXPECT_EQ(f.get().action, Action::Release);
  EXPECT_EQ(cluster_->stats().unknown_outcomes.load(), 8u);
  EXPECT_EQ(cluster_->stats().unknown_landed.load(), 0u);
  const auto b = batches();
  EXPECT_EQ(std::accumulate(b.begin(), b.end(), std::size_t{0}), 1u + 8 + 8) << "all eight written again";
  for (const auto& k : ks) EXPECT_EQ(stored(k)->level, 11);
}

// An unknown outcome that stays unknown releases none of the batch.
TEST_F(GroupCommitTest, AnUnknownBatchThatCannotBeResolvedReleasesNothing) {
  auto o = options();
  o.budget = std::chrono::milliseconds(200);
  make(o);
  const auto ks = keys(4);
  warm(ks);
  auto blocker = hold_txn_until_waiting(4, [&] {
    kv_.fail_writes({MemoryKv::Fault::LandThenLoseReply});
    kv_.fail_reads(1'000'000);
  });
  std::vector<std::future<SharedVerdict>> fs;
  for (const auto& k : ks) fs.push_back(cluster_->begin_advance(k, req(11, 0, 11)));
  blocker.get();
  for (auto& f : fs) {
    auto v = f.get();
    EXPECT_EQ(v.action, Action::Unavailable);
    EXPECT_THAT(v.message, HasSubstr("unknown"));
  }
}

// Two advances of one key wait together (a caller outside Watermarks' per-key lock): etcd refuses a
// txn that writes a key twice, so only the first is sent; the second is answered as if sent after
// it, and exactly one of two different payloads is released.
TEST_F(GroupCommitTest, TheSameKeyIsNeverTwiceInOneTxn) {
  make(options());
  const auto ks = keys(2);
  warm(ks);
  auto blocker = hold_txn_until_waiting(3);
  auto a = cluster_->begin_advance(ks[0], req(11, 0, 21));
  auto b = cluster_->begin_advance(ks[0], req(11, 0, 22));
  auto other = cluster_->begin_advance(ks[1], req(11, 0, 11));
  blocker.get();
  const auto va = a.get(), vb = b.get();
  EXPECT_EQ(other.get().action, Action::Release);
  EXPECT_EQ((va.action == Action::Release) + (vb.action == Action::Release), 1) << va.message << " / " << vb.message;
  EXPECT_EQ((va.action == Action::Refuse) + (vb.action == Action::Refuse), 1);
  EXPECT_EQ(stored(ks[0])->hash, va.action == Action::Release ? digest(21) : digest(22));
  EXPECT_THAT(batches(), ElementsAre(1u, 2u)) << "one txn of two keys; the duplicate rode along unsent";

  // The same payload twice: both released, one write.
  auto blocker2 = hold_txn_until_waiting(2);
  auto c = cluster_->begin_advance(ks[1], req(12, 0, 12));
  auto d = cluster_->begin_advance(ks[1], req(12, 0, 12));
  blocker2.get();
  EXPECT_EQ(c.get().action, Action::Release);
  EXPECT_EQ(d.get().action, Action::Release);
  EXPECT_THAT(batches(), ElementsAre(1u, 2u, 1u, 1u));
}

TEST_F(GroupCommitTest, TheOpsCapIsRespected) {
  auto o = options();
  o.max_batch_ops = 3;
  make(o);
  const auto ks = keys(8);
  warm(ks);
  auto blocker = hold_txn_until_waiting(8);
  std::vector<std::future<SharedVerdict>> fs;
  for (const auto& k : ks) fs.push_back(cluster_->begin_advance(k, req(11, 0, 11)));
  blocker.get();
  for (auto& f : fs) EXPECT_EQ(f.get().action, Action::Release);
  EXPECT_THAT(batches(), ElementsAre(1u, 3u, 3u, 2u));
}

TEST_F(GroupCommitTest, TheBytesCapIsRespectedAndALargeCasStillGoes) {
  auto o = options();
  o.max_batch_bytes = 1;  // smaller than any CAS: each goes alone
  make(o);
  const auto ks = keys(4);
  warm(ks);
  auto blocker = hold_txn_until_waiting(4);
  std::vector<std::future<SharedVerdict>> fs;
  for (const auto& k : ks) fs.push_back(cluster_->begin_advance(k, req(11, 0, 11)));
  blocker.get();
  for (auto& f : fs) EXPECT_EQ(f.get().action, Action::Release);
  EXPECT_THAT(batches(), ElementsAre(1u, 1u, 1u, 1u, 1u));
}

// Many keys and two signers racing on every slot through group commit: one release per slot.
TEST(GroupCommitRace, TwoSignersOnEightKeysReleaseExactlyOncePerSlot) {
  MemoryKv kv;
  kv.during_txn = [] {  // a txn takes a moment, as a raft round does: CAS arriving meanwhile queue
    for (int i = 0; i < 50; ++i) std::this_thread::yield();
  };
  auto o = [](std::string node) {
    ClusterOptions c;
    c.node = std::move(node);
    c.budget = std::chrono::milliseconds(5000);
    c.retry_backoff = std::chrono::milliseconds(1);
    c.workers = 16;
    return c;
  };
  ClusterWatermark a(kv, o("pi-a"), real_clock());
  ClusterWatermark b(kv, o("pi-b"), real_clock());
  const auto ks = keys(8);
  constexpr int kLevels = 100;
  for (int level = 1; level <= kLevels; ++level) {
    // pi-a goes through the keys upwards, pi-b downwards: each one's batch holds keys the other
    // has already won, so batches fail for one key and are sent again for the others.
    std::vector<std::future<SharedVerdict>> fa(ks.size()), fb(ks.size());
    for (std::size_t i = 0; i < ks.size(); ++i) {
      const std::size_t j = ks.size() - 1 - i;
      fa[i] = a.begin_advance(ks[i], req(level, 0, static_cast<std::uint32_t>(1000 * i + 2 * level)));
      fb[j] = b.begin_advance(ks[j], req(level, 0, static_cast<std::uint32_t>(1000 * j + 2 * level + 1)));
    }
    for (std::size_t i = 0; i < ks.size(); ++i) {
      const auto va = fa[i].get(), vb = fb[i].get();
      ASSERT_EQ((va.action == Action::Release) + (vb.action == Action::Release), 1)
          << "key " << i << " level " << level << ": " << va.message << " / " << vb.message;
      const int winner = va.action == Action::Release ? 2 * level : 2 * level + 1;
      auto rec = decode_record(kv.raw(record_key(ks[i]))->value);
      ASSERT_TRUE(rec.ok());
      ASSERT_EQ(rec->record.hash, digest(static_cast<std::uint32_t>(1000 * i + winner)));
    }
  }
  EXPECT_THAT(kv.batch_sizes, Each(Le(32u)));
  EXPECT_GT(*std::max_element(kv.batch_sizes.begin(), kv.batch_sizes.end()), 1u) << "no txn carried several keys";
  std::printf("race: %zu txns, largest batch %zu, %llu + %llu sent again for another key's loss\n",
              kv.batch_sizes.size(), *std::max_element(kv.batch_sizes.begin(), kv.batch_sizes.end()),
              static_cast<unsigned long long>(a.stats().batch_retries.load()),
              static_cast<unsigned long long>(b.stats().batch_retries.load()));
}

}  // namespace
}  // namespace pisigner::hwm::etcd
