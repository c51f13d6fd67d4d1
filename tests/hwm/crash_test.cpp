// Crash tests (LevelDB fault_injection_test model): the fault VFS drops everything not fsynced, and
// we prove that no signature handed out was above the watermark recovered after the crash.
#include <gtest/gtest.h>

#include <random>

#include "fault_vfs.hpp"
#include "pisigner/hwm/watermarks.hpp"
#include "test_util.hpp"

namespace pisigner::hwm {
namespace {

using testing::digest;
using testing::FaultVfs;
using testing::make_key;
using testing::open_faulty;
using testing::TempDir;

struct Returned {
  HwmKey key;
  Request request;
};

// The keys a workload writes to: one per kind, plus a second baker key.
std::vector<HwmKey> workload_keys() {
  return {make_key(tezos::Kind::Block, 1), make_key(tezos::Kind::Preattestation, 1),
          make_key(tezos::Kind::Attestation, 1), make_key(tezos::Kind::Attestation, 2)};
}

// A baker-like request stream: mostly advancing (level, round), some identical retries and some
// conflicting payloads at the last slot.
class Workload {
 public:
  explicit Workload(std::uint32_t seed) : rng_(seed), keys_(workload_keys()), last_(keys_.size()) {}

  std::pair<HwmKey, Request> next() {
    const std::size_t k = rng_() % keys_.size();
    Request& last = last_[k];
    const unsigned dice = rng_() % 10;
    if (last.level > 0 && dice < 2) return {keys_[k], last};  // identical retry
    if (last.level > 0 && dice < 3) return {keys_[k], Request{last.level, last.round, digest(++payload_), true}};
    if (last.level == 0 || rng_() % 2 == 0) {
      last = Request{last.level + 1, static_cast<std::int32_t>(rng_() % 3), digest(++payload_), true};
    } else {
      last = Request{last.level, last.round.value_or(0) + 1, digest(++payload_), true};
    }
    return {keys_[k], last};
  }

 private:
  std::mt19937 rng_;
  std::vector<HwmKey> keys_;
  std::vector<Request> last_;
  std::uint32_t payload_ = 0;
};

// After the crash: the database opens with the real VFS and every signature handed out is at or
// below the recovered watermark, so another payload at its slot is refused.
void check_recovered(const std::filesystem::path& dir, const std::vector<Returned>& returned) {
  auto reopened = open_sqlite_store(dir);
  ASSERT_TRUE(reopened.ok()) << "store unusable after crash: " << reopened.error().message;
  Store& store = **reopened;
  for (const Returned& r : returned) {
    auto rec = store.get(r.key);
    ASSERT_TRUE(rec.ok() && rec->has_value()) << "watermark lost for a returned signature at level "
                                              << r.request.level;
    const Record& w = **rec;
    ASSERT_TRUE(w.round.has_value());
    const auto returned_slot = std::pair(r.request.level, r.request.round.value_or(0));
    EXPECT_GE(std::pair(w.level, *w.round), returned_slot)
        << "signature returned at (" << returned_slot.first << "," << returned_slot.second
        << ") above recovered watermark (" << w.level << "," << *w.round << ")";
  }
  Watermarks wm(store);
  for (const Returned& r : returned) {
    bool called = false;
    Request other = r.request;
    other.hash = digest(0xfffffff0u);
    auto out = wm.sign_once(r.key, other, [&]() -> Result<std::string, std::string> {
      called = true;
      return std::string("double");
    });
    EXPECT_FALSE(out.ok()) << "different data accepted at an already-returned slot (level " << r.request.level << ")";
    EXPECT_FALSE(called);
  }
}

// Runs `ops` sign_once calls; sign() "returns" a signature to the caller, which we record.
// Store errors must never have called sign().
std::vector<Returned> run_workload(Store& store, std::uint32_t seed, int ops, const std::function<void(int)>& before_op) {
  Watermarks wm(store);
  Workload workload(seed);
  std::vector<Returned> returned;
  for (int i = 1; i <= ops; ++i) {
    before_op(i);
    auto [key, request] = workload.next();
    bool called = false;
    auto out = wm.sign_once(key, request, [&]() -> Result<std::string, std::string> {
      called = true;
      return std::string("sig");
    });
    if (out.ok()) {
      returned.push_back({key, request});
    } else if (out.error().code == AdvanceError::Code::Store) {
      EXPECT_FALSE(called) << "signed although the watermark was not stored";
    }
  }
  return returned;
}

TEST(CrashTest, CrashAfterRandomOperationLosesNoReturnedWatermark) {
  constexpr int kTrials = 25, kOps = 40;
  for (std::uint32_t trial = 0; trial < kTrials; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    TempDir dir;
    auto store = open_faulty(dir.path());
    ASSERT_TRUE(store);
    std::mt19937 rng(1000 + trial);
    const int crash_after = 1 + static_cast<int>(rng() % kOps);
    auto returned = run_workload(*store, trial, crash_after, [](int) {});
    FaultVfs::instance().kill();
    store.reset();  // shutdown writes are lost: the process is dead
    // Odd trials: each file randomly keeps or loses its unsynced changes.
    FaultVfs::instance().crash(trial % 2 == 1 ? std::optional<std::uint32_t>(trial) : std::nullopt);
    check_recovered(dir.path(), returned);
  }
}

// Power cut in the middle of a write or fsync, at every I/O step of a short workload.
TEST(CrashTest, PowerCutAtEveryIoStep) {
  constexpr int kOps = 12;
  // Count the I/O steps of the workload once, then cut at each of them.
  std::uint64_t total_ops = 0;
  {
    TempDir dir;
    auto store = open_faulty(dir.path());
    ASSERT_TRUE(store);
    const auto before = FaultVfs::instance().ops_seen();
    (void)run_workload(*store, 7, kOps, [](int) {});
    total_ops = FaultVfs::instance().ops_seen() - before;
  }
  ASSERT_GT(total_ops, 0u);
  for (std::uint64_t cut = 1; cut <= total_ops + 1; ++cut) {
    SCOPED_TRACE("power cut at I/O step " + std::to_string(cut));
    TempDir dir;
    auto store = open_faulty(dir.path());
    ASSERT_TRUE(store);
    FaultVfs::instance().kill_at_op(cut);
    auto returned = run_workload(*store, 7, kOps, [](int) {});
    FaultVfs::instance().kill();
    store.reset();
    FaultVfs::instance().crash();
    check_recovered(dir.path(), returned);
  }
}

// "Nth operation fails" (one transient I/O error, then the process carries on and later crashes):
// each sign_once either refuses without signing or its watermark is durable.
TEST(CrashTest, NthIoOperationFails) {
  constexpr int kOps = 12;
  for (std::uint64_t n = 1; n <= 60; ++n) {
    SCOPED_TRACE("failing I/O step " + std::to_string(n));
    TempDir dir;
    auto store = open_faulty(dir.path());
    ASSERT_TRUE(store);
    FaultVfs::instance().fail_nth_op(n);
    auto returned = run_workload(*store, 11, kOps, [](int) {});
    FaultVfs::instance().kill();
    store.reset();
    FaultVfs::instance().crash();
    check_recovered(dir.path(), returned);
  }
}

// The signature write is off the fsync path; the watermark write is on it.
TEST(CrashTest, PutSignatureCostsNoFsync) {
  TempDir dir;
  auto store = open_faulty(dir.path());
  ASSERT_TRUE(store);
  FaultVfs& vfs = FaultVfs::instance();
  const HwmKey key = make_key();
  auto syncs = vfs.syncs_seen();
  ASSERT_TRUE(store->put_durable(key, Record{1, 0, digest(1), std::nullopt}).ok());
  EXPECT_GT(vfs.syncs_seen(), syncs);
  syncs = vfs.syncs_seen();
  ASSERT_TRUE(store->put_signature(key, Record{1, 0, digest(1), "sig1"}).ok());
  EXPECT_EQ(vfs.syncs_seen(), syncs);
  ASSERT_TRUE(store->put_durable(key, Record{2, 0, digest(2), std::nullopt}).ok());
  EXPECT_GT(vfs.syncs_seen(), syncs);
}

TEST(FaultTest, ProbeAndPutDurableReportIoFailuresNamingTheFile) {
  TempDir dir;
  auto store = open_faulty(dir.path());
  ASSERT_TRUE(store);
  FaultVfs::instance().fail_nth_op(1);
  auto probe = store->probe_writable();
  ASSERT_FALSE(probe.ok());
  EXPECT_NE(probe.error().message.find((dir / kDatabaseFile).string()), std::string::npos) << probe.error().message;
  EXPECT_TRUE(store->probe_writable().ok());  // a transient failure does not wedge the store
  FaultVfs::instance().fail_nth_op(1);
  auto put = store->put_durable(make_key(), Record{1, 0, digest(1), std::nullopt});
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, StoreError::Code::Io);
  EXPECT_NE(put.error().message.find("cannot store watermark"), std::string::npos) << put.error().message;
  EXPECT_NE(put.error().message.find("write failed"), std::string::npos) << put.error().message;
  EXPECT_FALSE(store->get(make_key())->has_value());  // the cache only holds committed records
  EXPECT_TRUE(store->put_durable(make_key(), Record{1, 0, digest(1), std::nullopt}).ok());
}

// A Ledger keeps its own watermark and refuses the same bytes twice, so its signature is durable
// before it is returned: a crash right after the release still answers the baker's identical retry.
TEST(CrashTest, DeviceSignatureIsDurableBeforeItIsReturned) {
  TempDir dir;
  auto store = open_faulty(dir.path());
  ASSERT_TRUE(store);
  const HwmKey ledger = make_key(tezos::Kind::Attestation, 1), soft = make_key(tezos::Kind::Attestation, 2);
  {
    Watermarks wm(*store);
    auto sign = [](const char* s) { return [s]() -> Result<std::string, std::string> { return std::string(s); }; };
    ASSERT_TRUE(wm.sign_once(ledger, Request{5, 0, digest(5), true, true}, sign("device-sig")).ok());
    ASSERT_TRUE(wm.sign_once(soft, Request{5, 0, digest(6), true, false}, sign("soft-sig")).ok());
  }
  FaultVfs::instance().kill();
  store.reset();
  FaultVfs::instance().crash();
  auto reopened = open_sqlite_store(dir.path());
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ((*reopened)->get(ledger)->value().signature, std::optional<std::string>("device-sig"));
  // A soft key's signature may go (a deterministic re-sign gives it again): here it did.
  EXPECT_EQ((*reopened)->get(soft)->value().signature, std::nullopt);
}

// Crash without fault: a clean sequence followed by a crash keeps every watermark and, since later
// FULL commits sync earlier NORMAL ones, every signature but possibly the last per key.
TEST(CrashTest, SignaturesBeforeTheLastDurableCommitSurvive) {
  TempDir dir;
  auto store = open_faulty(dir.path());
  ASSERT_TRUE(store);
  const HwmKey key = make_key(tezos::Kind::Attestation, 1);
  {
    Watermarks wm(*store);
    for (int level = 1; level <= 3; ++level) {
      auto out = wm.sign_once(key, Request{level, 0, digest(static_cast<std::uint32_t>(level))},
                              [&]() -> Result<std::string, std::string> { return "sig" + std::to_string(level); });
      ASSERT_TRUE(out.ok());
    }
    // The watermark for level 4 is durable; its commit also synced level 3's signature.
    ASSERT_TRUE(store->put_durable(make_key(tezos::Kind::Block, 1), Record{4, 0, digest(4), std::nullopt}).ok());
  }
  FaultVfs::instance().kill();
  store.reset();
  FaultVfs::instance().crash();
  auto reopened = open_sqlite_store(dir.path());
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ((*reopened)->get(key)->value(), (Record{3, 0, digest(3), "sig3"}));
}

}  // namespace
}  // namespace pisigner::hwm
