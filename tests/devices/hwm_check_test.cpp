// The device's watermark beside the store's ("ledger_hwm <pkh>", information only): which store
// records count, and when the device being ahead deserves a warning.
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
  EXPECT_EQ(compare_hwm(device(50, 0), kZebra, rows).result.detail, "device main level 50, store 90");
}

TEST(LedgerHwmCheck, WarnsOnlyWhenTheDeviceIsMoreThanOneLevelAhead) {
  const Records rows = {row(tezos::Kind::Attestation, kMainnet, kZebra, 1000)};
  struct Case {
    std::uint32_t device_level;
    State state;
  };
  for (const auto& c : {Case{0, State::Ok}, Case{999, State::Ok}, Case{1000, State::Ok}, Case{1001, State::Ok},
                        Case{1002, State::Warning}, Case{2000000000, State::Warning}}) {
    SCOPED_TRACE(c.device_level);
    auto [r, settled] = compare_hwm(device(c.device_level, kMainnetId), kZebra, rows);
    EXPECT_EQ(r.state, c.state) << r.detail;
    EXPECT_EQ(settled, c.state == State::Ok);  // a warning is asked again at the next probe
    if (c.state == State::Warning) {
      EXPECT_NE(r.detail.find("is above the store's 1000: the device will refuse levels up to it"), std::string::npos)
          << r.detail;
      EXPECT_NE(r.detail.find("pisignerctl ledger reset-hwm"), std::string::npos) << r.detail;
    }
  }
}

// Scripted answers for the throttle, counting how often the device was asked.
struct Asker {
  std::vector<HwmComparison> answers;
  std::size_t asked = 0;
  HwmComparison operator()() { return answers.at(std::min(asked++, answers.size() - 1)); }
};

const HwmComparison kSettled{{State::Ok, "device main level 42, store 42"}, true};
const HwmComparison kAhead{{State::Warning, "device main level 1000 is above the store's 5"}, false};
const HwmComparison kUnknown{{State::Warning, "device watermark unknown: unavailable"}, false};

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

}  // namespace
}  // namespace pisigner::devices
