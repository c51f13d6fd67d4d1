// The device's watermark beside the store's ("ledger_hwm <pkh>", information only): which store
// records count, and when the device being ahead or behind deserves a warning.
#include <gtest/gtest.h>

#include "pisigner/devices/hwm_check.hpp"

namespace pisigner::devices {
namespace {

using health::State;

const auto kZebra = tezos::PublicKeyHash::parse("tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E").value();
const auto kOther = tezos::PublicKeyHash::parse("tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx").value();
const auto kMainnet = tezos::ChainId::parse("NetXdQprcVkpaWU").value();   // 0x7a06a770
const auto kGhostnet = tezos::ChainId::parse("NetXnHfVqm9iesp").value();

using Records = std::vector<std::pair<hwm::HwmKey, hwm::Record>>;

std::pair<hwm::HwmKey, hwm::Record> row(tezos::Kind kind, const tezos::ChainId& chain, const tezos::PublicKeyHash& pkh,
                                        std::int32_t level) {
  hwm::Record r;
  r.level = level;
  r.round = 0;
  return {hwm::HwmKey{kind, chain, pkh}, r};
}

ledger::AllHwm device(std::uint32_t level, std::uint32_t chain_id) {
  ledger::AllHwm d;
  d.main_level = level;
  d.main_round = 0;
  d.main_chain_id = chain_id;
  return d;
}

constexpr std::uint32_t kMainnetId = 0x7a06a770;

TEST(LedgerHwmCheck, NoStoreWatermarkYetIsOk) {
  auto r = compare_hwm(device(100, kMainnetId), kZebra, {});
  EXPECT_EQ(r.result.state, State::Ok);
  EXPECT_EQ(r.result.detail, "device main level 100; the store has no watermark for this key yet");
  EXPECT_FALSE(r.settled);  // asked again until the store has something to compare
  // Other keys' and other chains' rows are not this key's watermark.
  const Records others = {row(tezos::Kind::Block, kMainnet, kOther, 500), row(tezos::Kind::Block, kGhostnet, kZebra, 500)};
  EXPECT_EQ(compare_hwm(device(100, kMainnetId), kZebra, others).result.detail,
            "device main level 100; the store has no watermark for this key yet");
}

TEST(LedgerHwmCheck, TheStoreLevelIsTheHighestOfTheKeysKindsOnTheDevicesChain) {
  const Records rows = {row(tezos::Kind::Block, kMainnet, kZebra, 40), row(tezos::Kind::Attestation, kMainnet, kZebra, 42),
                        row(tezos::Kind::Preattestation, kMainnet, kZebra, 41),
                        row(tezos::Kind::Attestation, kGhostnet, kZebra, 9000),
                        row(tezos::Kind::Attestation, kMainnet, kOther, 8000)};
  auto r = compare_hwm(device(42, kMainnetId), kZebra, rows);
  EXPECT_EQ(r.result.state, State::Ok);
  EXPECT_EQ(r.result.detail, "device main level 42, store 42");
  EXPECT_TRUE(r.settled);
}

TEST(LedgerHwmCheck, ADeviceWithoutAChainIsComparedWithEveryChain) {
  const Records rows = {row(tezos::Kind::Attestation, kMainnet, kZebra, 42), row(tezos::Kind::Attestation, kGhostnet, kZebra, 90)};
  EXPECT_EQ(compare_hwm(device(89, 0), kZebra, rows).result.detail, "device main level 89, store 90");
  EXPECT_EQ(compare_hwm(device(50, 0), kZebra, rows).gap, 40);
}

// The relation the gauge pisigner_ledger_hwm_state reports, and the gap pisigner_ledger_hwm_level_gap.
TEST(LedgerHwmCheck, WarnsWhenTheDeviceIsMoreThanOneLevelAheadOrBehind) {
  const Records rows = {row(tezos::Kind::Attestation, kMainnet, kZebra, 1000)};
  struct Case {
    std::uint32_t device_level;
    HwmRelation relation;
    std::int64_t gap;
  };
  for (const auto& c : {Case{0, HwmRelation::DeviceBehind, 1000}, Case{998, HwmRelation::DeviceBehind, 2},
                        Case{999, HwmRelation::InStep, 1}, Case{1000, HwmRelation::InStep, 0},
                        Case{1001, HwmRelation::InStep, -1}, Case{1002, HwmRelation::DeviceAhead, -2},
                        Case{2000000000, HwmRelation::DeviceAhead, 1000 - 2000000000LL}}) {
    SCOPED_TRACE(c.device_level);
    auto [r, settled, relation, gap] = compare_hwm(device(c.device_level, kMainnetId), kZebra, rows);
    EXPECT_EQ(relation_name(relation), relation_name(c.relation));
    EXPECT_EQ(gap, c.gap);
    EXPECT_EQ(r.state, c.relation == HwmRelation::InStep ? State::Ok : State::Warning) << r.detail;
    EXPECT_EQ(settled, c.relation != HwmRelation::DeviceAhead);  // ahead refuses signatures: asked again at once
    if (c.relation == HwmRelation::DeviceAhead) {
      EXPECT_NE(r.detail.find("is above the store's 1000: the device will refuse levels up to it"), std::string::npos)
          << r.detail;
      EXPECT_NE(r.detail.find("pisignerctl ledger reset-hwm"), std::string::npos) << r.detail;
    }
    if (c.relation == HwmRelation::DeviceBehind) {
      EXPECT_NE(r.detail.find("is below the store's 1000: the device alone no longer guards those levels"),
                std::string::npos)
          << r.detail;
    }
  }
}

TEST(LedgerHwmCheck, NoWatermarkYetHasNoGap) {
  auto r = compare_hwm(device(7, kMainnetId), kZebra, {});
  EXPECT_EQ(relation_name(r.relation), "no_store_watermark");
  EXPECT_FALSE(r.gap.has_value());
}

// Scripted answers for the throttle, counting how often the device was asked.
struct Asker {
  std::vector<HwmComparison> answers;
  std::size_t asked = 0;
  HwmComparison operator()() { return answers.at(std::min(asked++, answers.size() - 1)); }
};

const HwmComparison kSettled{{State::Ok, "device main level 42, store 42"}, true, HwmRelation::InStep, 0};
const HwmComparison kAhead{{State::Warning, "device main level 1000 is above the store's 5"}, false,
                           HwmRelation::DeviceAhead, -995};
const HwmComparison kUnknown{{State::Warning, "device watermark unknown: unavailable"}, false, HwmRelation::Unknown, std::nullopt};

TEST(ThrottledHwmCheck, ASettledAnswerIsReusedForThePeriodFromTheFirstCall) {
  ManualClock clock;  // starts at the clock's epoch: the first answer must be kept there too
  auto asker = std::make_shared<Asker>(Asker{{kSettled}});
  ThrottledHwmCheck check(clock, std::chrono::seconds(30), [asker] { return (*asker)(); });
  EXPECT_EQ(check().detail, kSettled.result.detail);
  clock.advance(std::chrono::seconds(29));
  EXPECT_EQ(check().detail, kSettled.result.detail);
  EXPECT_EQ(asker->asked, 1u);
  clock.advance(std::chrono::seconds(1));
  check();
  EXPECT_EQ(asker->asked, 2u);
}

TEST(ThrottledHwmCheck, WarningsAndFailedQueriesAreAskedAgainAtEveryCall) {
  ManualClock clock;
  auto asker = std::make_shared<Asker>(Asker{{kUnknown, kAhead, kAhead, kSettled}});
  ThrottledHwmCheck check(clock, std::chrono::seconds(30), [asker] { return (*asker)(); });
  EXPECT_EQ(check().detail, kUnknown.result.detail);
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(check().state, State::Warning);
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(check().detail, kAhead.result.detail);
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(check().state, State::Ok);
  EXPECT_EQ(asker->asked, 4u);
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(check().state, State::Ok);
  EXPECT_EQ(asker->asked, 4u);  // now settled
}

// The gauges read the last answer from another thread than the probe loop's.
TEST(ThrottledHwmCheck, LatestIsTheLastAnswerAndUnknownBeforeTheFirst) {
  ManualClock clock;
  auto asker = std::make_shared<Asker>(Asker{{kAhead, kSettled}});
  ThrottledHwmCheck check(clock, std::chrono::seconds(30), [asker] { return (*asker)(); });
  EXPECT_EQ(check.latest().relation, HwmRelation::Unknown);
  check();
  EXPECT_EQ(check.latest().relation, HwmRelation::DeviceAhead);
  EXPECT_EQ(check.latest().gap, -995);
  check();
  EXPECT_EQ(check.latest().relation, HwmRelation::InStep);
  clock.advance(std::chrono::seconds(5));
  check();  // reused
  EXPECT_EQ(check.latest().relation, HwmRelation::InStep);
}

}  // namespace
}  // namespace pisigner::devices
