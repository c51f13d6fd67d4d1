// The SQLite store's commits: writers that arrive while a commit is on its way to disk share the
// next one, each still returns only once its own record is durable; signatures ride along with the
// next durable commit and survive a crash from then on.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "fault_vfs.hpp"
#include "test_util.hpp"

namespace pisigner::hwm {
namespace {

using namespace std::chrono_literals;
using testing::digest;
using testing::FaultVfs;
using testing::make_key;
using testing::open_faulty;
using testing::TempDir;

std::unique_ptr<Store> crash_and_reopen(std::unique_ptr<Store>& store, const std::filesystem::path& dir) {
  FaultVfs::instance().kill();
  store.reset();
  FaultVfs::instance().crash();
  auto reopened = open_sqlite_store(dir);
  EXPECT_TRUE(reopened.ok()) << reopened.error().message;
  return reopened.ok() ? std::move(*reopened) : nullptr;
}

bool wait_for(const std::function<bool()>& cond) {
  for (auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until;) {
    if (cond()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

TEST(GroupCommitTest, WritersArrivingDuringACommitShareTheNextFsyncAndEachIsDurable) {
  TempDir dir;
  auto store = open_faulty(dir.path());
  ASSERT_TRUE(store);
  FaultVfs& vfs = FaultVfs::instance();
  constexpr int kLate = 6;

  vfs.hold_syncs(true);  // the disk stalls: the first writer's commit waits in fsync
  std::thread first([&] { EXPECT_TRUE(store->put_durable(make_key(tezos::Kind::Block, 100), Record{1, 0, digest(1), std::nullopt}).ok()); });
  ASSERT_TRUE(wait_for([&] { return vfs.syncs_waiting() == 1; }));
  std::atomic<int> started{0}, returned{0};
  std::vector<std::thread> late;
  for (int i = 0; i < kLate; ++i) {
    late.emplace_back([&, i] {
      ++started;
      const auto key = make_key(tezos::Kind::Attestation, static_cast<std::uint8_t>(i + 1));
      EXPECT_TRUE(store->put_durable(key, Record{7, 0, digest(static_cast<std::uint32_t>(i)), std::nullopt}).ok());
      ++returned;
    });
  }
  ASSERT_TRUE(wait_for([&] { return started == kLate; }));
  std::this_thread::sleep_for(200ms);  // let them reach the queue behind the stalled commit
  EXPECT_EQ(returned.load(), 0) << "a write returned while the disk had not synced it";
  const auto syncs_before = vfs.syncs_seen();
  vfs.hold_syncs(false);
  first.join();
  for (auto& t : late) t.join();
  // The first commit, then one commit for all six late writers.
  EXPECT_EQ(vfs.syncs_seen() - syncs_before, 2u);

  auto reopened = crash_and_reopen(store, dir.path());
  ASSERT_TRUE(reopened);
  for (int i = 0; i < kLate; ++i) {
    auto rec = reopened->get(make_key(tezos::Kind::Attestation, static_cast<std::uint8_t>(i + 1)));
    ASSERT_TRUE(rec.ok() && rec->has_value()) << "writer " << i << " returned but its record was lost";
    EXPECT_EQ((*rec)->level, 7);
  }
}

// Probes queue like writers: health probes arriving during a stalled commit share the next
// transaction with the watermarks queued beside them instead of committing one after the other.
TEST(GroupCommitTest, ProbesQueuedDuringACommitShareTheNextOneWithTheWriters) {
  TempDir dir;
  auto store = open_faulty(dir.path());
  ASSERT_TRUE(store);
  FaultVfs& vfs = FaultVfs::instance();
  vfs.hold_syncs(true);
  std::thread first([&] { EXPECT_TRUE(store->put_durable(make_key(tezos::Kind::Block, 100), Record{1, 0, digest(1), std::nullopt}).ok()); });
  ASSERT_TRUE(wait_for([&] { return vfs.syncs_waiting() == 1; }));
  std::atomic<int> started{0};
  std::vector<std::thread> late;
  for (int i = 0; i < 3; ++i) {
    late.emplace_back([&] {
      ++started;
      EXPECT_TRUE(store->probe_writable().ok());
    });
    late.emplace_back([&, i] {
      ++started;
      const auto key = make_key(tezos::Kind::Attestation, static_cast<std::uint8_t>(i + 1));
      EXPECT_TRUE(store->put_durable(key, Record{7, 0, digest(static_cast<std::uint32_t>(i)), std::nullopt}).ok());
    });
  }
  ASSERT_TRUE(wait_for([&] { return started == 6; }));
  std::this_thread::sleep_for(200ms);  // let them reach the queue behind the stalled commit
  const auto syncs_before = vfs.syncs_seen();
  vfs.hold_syncs(false);
  first.join();
  for (auto& t : late) t.join();
  EXPECT_EQ(vfs.syncs_seen() - syncs_before, 2u) << "the stalled commit, then one for three probes and three writers";
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(store->get(make_key(tezos::Kind::Attestation, static_cast<std::uint8_t>(i + 1)))->has_value());
  }
}

TEST(GroupCommitTest, AFailedCommitFailsEveryWriterInItAndStoresNothing) {
  TempDir dir;
  auto store = open_faulty(dir.path());
  ASSERT_TRUE(store);
  FaultVfs& vfs = FaultVfs::instance();
  vfs.hold_syncs(true);
  std::thread first([&] { EXPECT_TRUE(store->put_durable(make_key(tezos::Kind::Block, 100), Record{1, 0, digest(1), std::nullopt}).ok()); });
  ASSERT_TRUE(wait_for([&] { return vfs.syncs_waiting() == 1; }));
  std::atomic<int> started{0};
  std::vector<Result<void, StoreError>> results(3);
  std::vector<std::thread> late;
  for (int i = 0; i < 3; ++i) {
    late.emplace_back([&, i] {
      ++started;
      results[static_cast<std::size_t>(i)] =
          store->put_durable(make_key(tezos::Kind::Attestation, static_cast<std::uint8_t>(i + 1)),
                             Record{9, 0, digest(static_cast<std::uint32_t>(i)), std::nullopt});
    });
  }
  ASSERT_TRUE(wait_for([&] { return started == 3; }));
  std::this_thread::sleep_for(200ms);
  // The first commit's fsync succeeds; the shared commit's first write fails.
  vfs.fail_nth_op(2);
  vfs.hold_syncs(false);
  first.join();
  for (auto& t : late) t.join();
  int failed = 0;
  for (int i = 0; i < 3; ++i) {
    const auto key = make_key(tezos::Kind::Attestation, static_cast<std::uint8_t>(i + 1));
    if (!results[static_cast<std::size_t>(i)].ok()) {
      ++failed;
      const std::string& msg = results[static_cast<std::size_t>(i)].error().message;
      // Each writer's error names its own record.
      EXPECT_NE(msg.find("cannot store watermark attestation NetXdQprcVkpaWU " + key.pkh.to_b58() + " level 9"),
                std::string::npos)
          << msg;
      EXPECT_FALSE(store->get(key)->has_value()) << "a failed write reached the cache";
    }
  }
  EXPECT_EQ(failed, 3) << "the three writers shared the failed commit";
  EXPECT_TRUE(store->put_durable(make_key(), Record{10, 0, digest(10), std::nullopt}).ok());  // not wedged
}

// A store through the fault VFS with one durable watermark and its signature put (not yet written).
class PendingSignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_faulty(dir_.path());
    ASSERT_TRUE(store_);
    ASSERT_TRUE(store_->put_durable(key_, Record{5, 0, digest(5), std::nullopt}).ok());
    ASSERT_TRUE(store_->put_signature(key_, Record{5, 0, digest(5), "sig5"}).ok());
  }
  std::unique_ptr<Store> crash() { return crash_and_reopen(store_, dir_.path()); }

  TempDir dir_;
  const HwmKey key_ = make_key();
  std::unique_ptr<Store> store_;
};

TEST_F(PendingSignatureTest, IsWrittenByTheNextProbeAndSurvivesACrashFromThen) {
  EXPECT_EQ(store_->get(key_)->value().signature, "sig5");  // served at once from memory
  ASSERT_TRUE(store_->probe_writable().ok());
  auto reopened = crash();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->get(key_)->value(), (Record{5, 0, digest(5), "sig5"}));
}

TEST_F(PendingSignatureTest, NotYetCommittedIsLostInACrashButItsWatermarkIsNot) {
  auto reopened = crash();
  ASSERT_TRUE(reopened);
  // The contract: only an identical re-sign is lost, never the watermark.
  EXPECT_EQ(reopened->get(key_)->value(), (Record{5, 0, digest(5), std::nullopt}));
}

TEST_F(PendingSignatureTest, OfAFailedCommitWaitsForTheNextOne) {
  FaultVfs::instance().fail_nth_op(1);
  auto probe = store_->probe_writable();
  ASSERT_FALSE(probe.ok());
  EXPECT_NE(probe.error().message.find("write probe failed"), std::string::npos) << probe.error().message;
  ASSERT_TRUE(store_->probe_writable().ok());
  auto reopened = crash();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->get(key_)->value().signature, "sig5");
}

TEST_F(PendingSignatureTest, ForAReplacedRecordIsNotWrittenOverTheNewOne) {
  // The next watermark for the same key commits together with the pending signature of the old one.
  ASSERT_TRUE(store_->put_durable(key_, Record{6, 0, digest(6), std::nullopt}).ok());
  EXPECT_EQ(store_->get(key_)->value(), (Record{6, 0, digest(6), std::nullopt}));
  auto reopened = crash();
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->get(key_)->value(), (Record{6, 0, digest(6), std::nullopt}));
}

TEST(GroupCommitTest, ACleanCloseWritesPendingSignatures) {
  TempDir dir;
  const HwmKey key = make_key();
  {
    auto store = open_sqlite_store(dir.path());
    ASSERT_TRUE(store.ok()) << store.error().message;
    ASSERT_TRUE((*store)->put_durable(key, Record{5, 0, digest(5), std::nullopt}).ok());
    ASSERT_TRUE((*store)->put_signature(key, Record{5, 0, digest(5), "sig5"}).ok());
  }
  auto reopened = open_sqlite_store(dir.path());
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ((*reopened)->get(key)->value().signature, "sig5");
}

}  // namespace
}  // namespace pisigner::hwm
