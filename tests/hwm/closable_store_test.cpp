// ClosableStore: forwards to its inner store until close(), refuses every call afterwards, and
// destroys the inner store (SQLite closed, directory lock released) only once no call is in flight.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "pisigner/hwm/closable_store.hpp"
#include "test_util.hpp"

namespace pisigner::hwm {
namespace {

using testing::TempDir;

// Records, in order, when put_durable() starts and ends and when the store is destroyed; with
// `hold`, put_durable() waits for release().
class Journal {
 public:
  void add(std::string e) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
    cv_.notify_all();
  }
  void wait_for(const std::string& e) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return std::find(events_.begin(), events_.end(), e) != events_.end(); });
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  void wait_released() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return released_; });
  }
  std::vector<std::string> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
  bool released_ = false;
};

class JournalledStore final : public Store {
 public:
  JournalledStore(Journal& journal, bool hold) : inner_(make_memory_store()), journal_(journal), hold_(hold) {}
  ~JournalledStore() override { journal_.add("destroyed"); }
  Result<std::optional<Record>, StoreError> get(const HwmKey& key) override { return inner_->get(key); }
  Result<void, StoreError> put_durable(const HwmKey& key, const Record& record) override {
    journal_.add("put begins");
    if (hold_) journal_.wait_released();
    auto r = inner_->put_durable(key, record);
    journal_.add("put ends");
    return r;
  }
  Result<void, StoreError> put_signature(const HwmKey& key, const Record& record) override {
    return inner_->put_signature(key, record);
  }
  Result<std::vector<std::pair<HwmKey, Record>>, StoreError> list() override { return inner_->list(); }
  Result<void, StoreError> probe_writable() override { return inner_->probe_writable(); }

 private:
  std::unique_ptr<Store> inner_;
  Journal& journal_;
  bool hold_;
};

HwmKey key() {
  return HwmKey{tezos::Kind::Attestation, tezos::ChainId::parse("NetXdQprcVkpaWU").value(),
                tezos::PublicKeyHash::parse("tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E").value()};
}

Record record(std::int32_t level) {
  Record r;
  r.level = level;
  r.round = 0;
  r.hash.fill(static_cast<std::uint8_t>(level));
  return r;
}

TEST(ClosableStore, ForwardsEveryCallUntilClosed) {
  ClosableStore store(make_memory_store());
  EXPECT_FALSE(store.closed());
  ASSERT_TRUE(store.put_durable(key(), record(5)));
  Record signed_record = record(5);
  signed_record.signature = "edsigtest";
  ASSERT_TRUE(store.put_signature(key(), signed_record));
  auto got = store.get(key());
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, signed_record);
  auto all = store.list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
  EXPECT_TRUE(store.probe_writable());
}

TEST(ClosableStore, EveryCallFailsAfterCloseAndNothingIsWritten) {
  Journal journal;
  ClosableStore store(std::make_unique<JournalledStore>(journal, false));
  store.close();
  EXPECT_TRUE(store.closed());
  EXPECT_EQ(journal.events(), std::vector<std::string>{"destroyed"});

  auto expect_closed = [](const StoreError& e) {
    EXPECT_EQ(e.code, StoreError::Code::Io);
    EXPECT_NE(e.message.find("store closed"), std::string::npos) << e.message;
  };
  auto put = store.put_durable(key(), record(6));
  ASSERT_FALSE(put);
  expect_closed(put.error());
  auto sig = store.put_signature(key(), record(6));
  ASSERT_FALSE(sig);
  expect_closed(sig.error());
  auto got = store.get(key());
  ASSERT_FALSE(got);
  expect_closed(got.error());
  auto all = store.list();
  ASSERT_FALSE(all);
  expect_closed(all.error());
  auto probe = store.probe_writable();
  ASSERT_FALSE(probe);
  expect_closed(probe.error());
  EXPECT_EQ(journal.events(), std::vector<std::string>{"destroyed"});  // no call reached the inner store

  store.close();  // idempotent
  EXPECT_TRUE(store.closed());
}

TEST(ClosableStore, CloseWaitsForACallInFlight) {
  Journal journal;
  ClosableStore store(std::make_unique<JournalledStore>(journal, true));
  std::thread writer([&] { EXPECT_TRUE(store.put_durable(key(), record(7))); });
  journal.wait_for("put begins");
  std::thread closer([&] { store.close(); });
  // Give a close() that does not wait the chance to destroy the store under the writer.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  journal.release();
  writer.join();
  closer.join();
  EXPECT_EQ(journal.events(), (std::vector<std::string>{"put begins", "put ends", "destroyed"}));
  EXPECT_TRUE(store.closed());
}

TEST(ClosableStore, ClosingReleasesTheSqliteDirectoryLock) {
  TempDir dir;
  auto opened = open_sqlite_store(dir.path());
  ASSERT_TRUE(opened) << opened.error().message;
  ClosableStore store(std::move(opened).value());
  ASSERT_TRUE(store.put_durable(key(), record(8)));
  auto second = open_sqlite_store(dir.path());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, StoreError::Code::Locked);
  store.close();
  auto reopened = open_sqlite_store(dir.path());
  ASSERT_TRUE(reopened) << reopened.error().message;
  auto got = (*reopened)->get(key());
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->level, 8);
}

}  // namespace
}  // namespace pisigner::hwm
