// Watermarks::sign_once: persist-before-sign, cached retries, failures, and races on one key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "pisigner/hwm/watermarks.hpp"
#include "test_util.hpp"

namespace pisigner::hwm {
namespace {

using ::testing::HasSubstr;
using testing::digest;
using testing::make_key;
using testing::TempDir;
using SignFn = std::function<Result<std::string, std::string>()>;

// A Store decorator whose writes can be made to fail (style: fault injection by decoration).
class FlakyStore final : public Store {
 public:
  explicit FlakyStore(Store& inner) : inner_(inner) {}
  Result<std::optional<Record>, StoreError> get(const HwmKey& k) override { return inner_.get(k); }
  Result<void, StoreError> put_durable(const HwmKey& k, const Record& r) override {
    if (fail_durable) return fail(StoreError{StoreError::Code::Io, "disk on fire"});
    return inner_.put_durable(k, r);
  }
  Result<void, StoreError> put_signature(const HwmKey& k, const Record& r) override {
    if (fail_signature) return fail(StoreError{StoreError::Code::Io, "disk full"});
    return inner_.put_signature(k, r);
  }
  Result<std::vector<std::pair<HwmKey, Record>>, StoreError> list() override { return inner_.list(); }
  Result<void, StoreError> probe_writable() override { return inner_.probe_writable(); }
  bool fail_durable = false;
  bool fail_signature = false;

 private:
  Store& inner_;
};

class WatermarksTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      auto s = open_sqlite_store(dir_.path());
      ASSERT_TRUE(s.ok()) << s.error().message;
      store_ = std::move(*s);
    } else {
      store_ = make_memory_store();
    }
  }
  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(WatermarksTest, WatermarkIsDurableBeforeSignRunsAndSignatureIsKept) {
  Watermarks wm(*store_);
  const HwmKey key = make_key();
  bool called = false;
  auto out = wm.sign_once(key, Request{10, 1, digest(1)}, [&]() -> Result<std::string, std::string> {
    called = true;
    // Inside sign(): the new watermark must already be stored (without a signature).
    auto rec = store_->get(key);
    EXPECT_TRUE(rec.ok() && rec->has_value());
    if (rec.ok() && rec->has_value()) {
      EXPECT_EQ(**rec, (Record{10, 1, digest(1), std::nullopt}));
    }
    return std::string("edsig10");
  });
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(called);
  EXPECT_EQ(*out, "edsig10");
  EXPECT_EQ(store_->get(key)->value().signature, "edsig10");
}

TEST_P(WatermarksTest, IdenticalRetryReturnsCachedSignatureWithoutSigning) {
  Watermarks wm(*store_);
  const HwmKey key = make_key();
  int calls = 0;
  SignFn sign = [&]() -> Result<std::string, std::string> { return "sig" + std::to_string(++calls); };
  ASSERT_EQ(*wm.sign_once(key, Request{10, 0, digest(1)}, sign), "sig1");
  ASSERT_EQ(*wm.sign_once(key, Request{10, 0, digest(1)}, sign), "sig1");
  EXPECT_EQ(calls, 1);
}

TEST_P(WatermarksTest, DifferentPayloadAtSameSlotIsRefusedWithOctezMessage) {
  Watermarks wm(*store_);
  const HwmKey key = make_key(tezos::Kind::Preattestation);
  int calls = 0;
  SignFn sign = [&]() -> Result<std::string, std::string> { return "sig" + std::to_string(++calls); };
  ASSERT_TRUE(wm.sign_once(key, Request{10, 0, digest(1)}, sign).ok());
  auto out = wm.sign_once(key, Request{10, 0, digest(2)}, sign);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, AdvanceError::Code::Refused);
  EXPECT_EQ(out.error().message, "preattestation level 10 and round 0 already signed with different data");
  EXPECT_EQ(calls, 1);
}

TEST_P(WatermarksTest, StoreFailureMeansNothingIsSigned) {
  FlakyStore flaky(*store_);
  Watermarks wm(flaky);
  flaky.fail_durable = true;
  bool called = false;
  auto out = wm.sign_once(make_key(), Request{10, 0, digest(1)}, [&]() -> Result<std::string, std::string> {
    called = true;
    return std::string("sig");
  });
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, AdvanceError::Code::Store);
  EXPECT_THAT(out.error().message, HasSubstr("disk on fire"));
  EXPECT_FALSE(called);
  EXPECT_FALSE(store_->get(make_key())->has_value());
}

TEST_P(WatermarksTest, FailedSignKeepsTheWatermarkAdvanced) {
  Watermarks wm(*store_);
  const HwmKey key = make_key();
  auto out = wm.sign_once(key, Request{10, 0, digest(1)},
                          []() -> Result<std::string, std::string> { return fail(std::string("ledger unplugged")); });
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, AdvanceError::Code::SignFailed);
  EXPECT_EQ(out.error().message, "ledger unplugged");
  // Another payload at the same slot stays refused; the same bytes may be signed again.
  SignFn ok = []() -> Result<std::string, std::string> { return std::string("sig"); };
  EXPECT_EQ(wm.sign_once(key, Request{10, 0, digest(2)}, ok).error().code, AdvanceError::Code::Refused);
  EXPECT_EQ(*wm.sign_once(key, Request{10, 0, digest(1), true}, ok), "sig");
}

TEST_P(WatermarksTest, LostSignatureStillReturnsAndIsCounted) {
  FlakyStore flaky(*store_);
  Watermarks wm(flaky);
  flaky.fail_signature = true;
  const HwmKey key = make_key();
  int calls = 0;
  SignFn sign = [&]() -> Result<std::string, std::string> { return "sig" + std::to_string(++calls); };
  EXPECT_EQ(*wm.sign_once(key, Request{10, 0, digest(1)}, sign), "sig1");
  EXPECT_EQ(wm.signature_store_failures(), 1u);
  // A retry of the same bytes by a deterministic key signs again (no cached signature; the key gives
  // the same bytes again) but nothing else gets through.
  EXPECT_EQ(*wm.sign_once(key, Request{10, 0, digest(1), true}, sign), "sig2");
  EXPECT_FALSE(wm.sign_once(key, Request{10, 0, digest(3), true}, sign).ok());
  EXPECT_EQ(store_->get(key)->value().level, 10);
}

// A key whose signatures are not deterministic would make a second, different signature of the same
// block (a second block hash at one level and round): the retry is refused instead (octez's rule).
TEST_P(WatermarksTest, LostSignatureOfANonDeterministicKeyIsNeverSignedAgain) {
  FlakyStore flaky(*store_);
  Watermarks wm(flaky);
  flaky.fail_signature = true;
  const HwmKey key = make_key(tezos::Kind::Block);
  int calls = 0;
  SignFn sign = [&]() -> Result<std::string, std::string> { return "sig" + std::to_string(++calls); };
  EXPECT_EQ(*wm.sign_once(key, Request{10, 0, digest(1), false}, sign), "sig1");
  auto retry = wm.sign_once(key, Request{10, 0, digest(1), false}, sign);
  ASSERT_FALSE(retry.ok());
  EXPECT_EQ(retry.error().code, AdvanceError::Code::Refused);
  EXPECT_THAT(retry.error().message, HasSubstr("not deterministic"));
  EXPECT_EQ(calls, 1);
}

TEST_P(WatermarksTest, MaxLevelJumpRefusesBeforeAnythingIsStoredOrSigned) {
  Watermarks wm(*store_, WatermarkLimits{RuleOptions{10}, kDefaultMaxChainsPerKey});
  const HwmKey key = make_key(tezos::Kind::Attestation);
  int calls = 0;
  SignFn sign = [&]() -> Result<std::string, std::string> { return "sig" + std::to_string(++calls); };
  ASSERT_TRUE(wm.sign_once(key, Request{100, 0, digest(1), true}, sign).ok());  // first record: no limit
  auto far = wm.sign_once(key, Request{111, 0, digest(2), true}, sign);
  ASSERT_FALSE(far.ok());
  EXPECT_EQ(far.error().code, AdvanceError::Code::Refused);
  EXPECT_EQ(far.error().message, "attestation level 111 is more than 10 levels above high watermark 100 (policy.max_level_jump)");
  EXPECT_EQ(store_->get(key)->value().level, 100);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(wm.sign_once(key, Request{110, 0, digest(3), true}, sign).ok());
}

// With policy.chains = [], each new chain id costs a lock, a cache entry and a durable row for good:
// past the cap a new chain is refused before anything is stored.
TEST_P(WatermarksTest, ChainCapRefusesANewChainPastTheCapAndStoresNothing) {
  const auto chain_n = [](std::uint8_t n) {
    tezos::ChainId c;
    c.bytes.fill(n);
    return c;
  };
  SignFn sign = []() -> Result<std::string, std::string> { return std::string("sig"); };
  {
    Watermarks wm(*store_, WatermarkLimits{{}, 2});
    for (auto kind : {tezos::Kind::Block, tezos::Kind::Preattestation, tezos::Kind::Attestation}) {
      ASSERT_TRUE(wm.sign_once(make_key(kind, 1, chain_n(1)), Request{5, 0, digest(1), true}, sign).ok());
      ASSERT_TRUE(wm.sign_once(make_key(kind, 1, chain_n(2)), Request{5, 0, digest(1), true}, sign).ok());
    }
    auto third = wm.sign_once(make_key(tezos::Kind::Block, 1, chain_n(3)), Request{5, 0, digest(1), true}, sign);
    ASSERT_FALSE(third.ok());
    EXPECT_EQ(third.error().code, AdvanceError::Code::Refused);
    EXPECT_THAT(third.error().message, HasSubstr("chain " + chain_n(3).to_b58() + " refused"));
    EXPECT_THAT(third.error().message, HasSubstr("policy.max_chains_per_key = 2"));
    EXPECT_FALSE(store_->get(make_key(tezos::Kind::Block, 1, chain_n(3)))->has_value());
    // The cap is per key: another key may use that chain.
    EXPECT_TRUE(wm.sign_once(make_key(tezos::Kind::Block, 2, chain_n(3)), Request{5, 0, digest(1), true}, sign).ok());
  }
  // After a restart the chains already in the store count.
  Watermarks restarted(*store_, WatermarkLimits{{}, 2});
  EXPECT_FALSE(restarted.sign_once(make_key(tezos::Kind::Block, 1, chain_n(4)), Request{6, 0, digest(1), true}, sign).ok());
  EXPECT_TRUE(restarted.sign_once(make_key(tezos::Kind::Block, 1, chain_n(2)), Request{6, 0, digest(1), true}, sign).ok());
  // 0 lifts the cap.
  Watermarks uncapped(*store_, WatermarkLimits{{}, 0});
  EXPECT_TRUE(uncapped.sign_once(make_key(tezos::Kind::Block, 1, chain_n(4)), Request{6, 0, digest(1), true}, sign).ok());
}

// Many threads race payloads with different bytes over the same increasing levels.
TEST_P(WatermarksTest, RaceSameKeyNeverSignsTwoPayloadsAtOneSlot) {
  Watermarks wm(*store_);
  const HwmKey key = make_key(tezos::Kind::Attestation);
  constexpr int kThreads = 8;
  constexpr int kLevels = 150;
  std::mutex mu;
  std::map<std::pair<int, int>, std::set<std::uint32_t>> signed_payloads;  // guarded by mu
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int level = 1; level <= kLevels; ++level) {
        const int round = level % 3;
        const std::uint32_t payload = static_cast<std::uint32_t>(level * 100 + t);
        auto out = wm.sign_once(key, Request{level, round, digest(payload)}, [&]() -> Result<std::string, std::string> {
          std::lock_guard lock(mu);
          signed_payloads[{level, round}].insert(payload);
          return "sig-" + std::to_string(payload);
        });
        if (out.ok()) {
          EXPECT_EQ(*out, "sig-" + std::to_string(payload));  // never someone else's signature
          ++accepted;
        } else {
          EXPECT_EQ(out.error().code, AdvanceError::Code::Refused) << out.error().message;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& [slot, payloads] : signed_payloads) {
    EXPECT_EQ(payloads.size(), 1u) << "two payloads signed at level " << slot.first << " round " << slot.second;
  }
  EXPECT_EQ(accepted.load(), static_cast<int>(signed_payloads.size()));
  EXPECT_GE(store_->get(key)->value().level, 1);
}

// Retry storms: every thread sends the same bytes; one signature is made per slot, all get it.
TEST_P(WatermarksTest, RaceIdenticalRetriesShareOneSignature) {
  Watermarks wm(*store_);
  const HwmKey key = make_key(tezos::Kind::Block);
  std::atomic<int> calls{0};
  std::vector<std::thread> threads;
  std::vector<std::string> results(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto out = wm.sign_once(key, Request{77, 1, digest(5)}, [&]() -> Result<std::string, std::string> {
        return "sig-" + std::to_string(++calls);
      });
      results[static_cast<std::size_t>(t)] = out.ok() ? *out : out.error().message;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(calls.load(), 1);
  for (const auto& r : results) EXPECT_EQ(r, "sig-1");
}

// A sign in progress on one key must not block another key: key A's sign() waits for key B's.
TEST_P(WatermarksTest, DifferentKeysProceedInParallel) {
  Watermarks wm(*store_);
  std::promise<void> a_signing, b_signed;
  auto a_started = a_signing.get_future();
  auto b_done = b_signed.get_future();
  bool a_saw_b = false;
  std::thread a([&] {
    auto out = wm.sign_once(make_key(tezos::Kind::Attestation, 1), Request{5, 0, digest(1)},
                            [&]() -> Result<std::string, std::string> {
                              a_signing.set_value();
                              a_saw_b = b_done.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
                              return std::string("a");
                            });
    EXPECT_TRUE(out.ok());
  });
  a_started.wait();  // A holds its key's lock now
  auto out = wm.sign_once(make_key(tezos::Kind::Attestation, 2), Request{5, 0, digest(2)},
                          [&]() -> Result<std::string, std::string> {
                            b_signed.set_value();
                            return std::string("b");
                          });
  EXPECT_TRUE(out.ok());
  a.join();
  EXPECT_TRUE(a_saw_b) << "key B waited for key A's sign";
}

INSTANTIATE_TEST_SUITE_P(Backends, WatermarksTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Sqlite" : "Memory"; });

}  // namespace
}  // namespace pisigner::hwm
