// The sign pipeline end to end on the memory store: reference vectors, watermark rules, refusals
// that must sign nothing, metrics, and an "Nth store operation fails" walk (style.md #6).
#include "pisigner/core/signer.hpp"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include <set>
#include <sstream>
#include <thread>

#include "pisigner/keys/ledger_key.hpp"
#include "signer_fixtures.hpp"

namespace pisigner::core {
namespace {

using test::attestation;
using test::hex;

std::optional<hwm::Record> record_of(test::Harness& h, tezos::Kind kind) {
  for (auto& [k, r] : h.records()) {
    if (k.kind == kind) return r;
  }
  return std::nullopt;
}

TEST(Signer, SignsTheReferenceAttestationExactly) {
  test::Harness h;
  auto r = h.sign(hex(test::kAttestationHex));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->signature, test::kB1AttestationSig);
  EXPECT_FALSE(r->cached);
  ASSERT_TRUE(r->watermark);
  EXPECT_EQ(r->watermark->level, test::kAttestationLevel);
  EXPECT_EQ(h.key->calls(), 1);

  auto rec = record_of(h, tezos::Kind::Attestation);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->level, test::kAttestationLevel);
  EXPECT_EQ(rec->round, 0);
  EXPECT_EQ(to_hex(rec->hash), "849f6a8561a1a6b8da04248e49cafa50565d20b9fc97ebbb6d94c9345a31f0d4");
  EXPECT_EQ(rec->signature, std::string(test::kB1AttestationSig));
}

TEST(Signer, IdenticalResignReturnsTheCachedSignature) {
  test::Harness h;
  ASSERT_TRUE(h.sign(hex(test::kAttestationHex)).ok());
  auto again = h.sign(hex(test::kAttestationHex));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->cached);
  EXPECT_EQ(again->signature, test::kB1AttestationSig);
  EXPECT_EQ(h.key->calls(), 1) << "the key must not sign twice";
}

TEST(Signer, DifferentPayloadAtTheSameLevelAndRoundIsRefused) {
  test::Harness h;
  ASSERT_TRUE(h.sign(attestation(100, 0)).ok());
  auto r = h.sign(attestation(100, 0, 0x8e));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, SignErrc::WatermarkRefused);
  EXPECT_EQ(r.error().message, "attestation level 100 and round 0 already signed with different data");
  EXPECT_EQ(h.key->calls(), 1);
}

TEST(Signer, LowerLevelAndLowerRoundAreRefusedHigherRoundSigns) {
  test::Harness h;
  ASSERT_TRUE(h.sign(attestation(100, 2)).ok());
  auto lower = h.sign(attestation(99, 5));
  ASSERT_FALSE(lower.ok());
  EXPECT_EQ(lower.error().message, "attestation level 99 below high watermark 100");
  auto lower_round = h.sign(attestation(100, 1));
  ASSERT_FALSE(lower_round.ok());
  EXPECT_EQ(lower_round.error().message, "attestation level 100 and round 1 not above high watermark (100,2)");
  EXPECT_EQ(h.key->calls(), 1);

  auto higher_round = h.sign(attestation(100, 3, 0x01));
  ASSERT_TRUE(higher_round.ok()) << higher_round.error().message;
  EXPECT_EQ(record_of(h, tezos::Kind::Attestation)->round, 3);
}

TEST(Signer, KindsAreIndependentBlockAfterAttestationAtTheSameLevel) {
  test::Harness h;
  const Bytes block = hex(test::kBlockHex);  // level 20878, round 0
  ASSERT_TRUE(h.sign(attestation(test::kBlockLevel, 0)).ok());
  auto pre = h.sign(test::with_be32(test::with_be32(hex(test::kPreattestationHex), 40, test::kBlockLevel), 44, 0));
  ASSERT_TRUE(pre.ok()) << pre.error().message;
  auto b = h.sign(block);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_FALSE(b->cached);
  EXPECT_EQ(h.key->calls(), 3);
  EXPECT_EQ(h.records().size(), 3u);
}

TEST(Signer, UnknownKeyIsRefusedWithTheOctezMessage) {
  test::Harness h;
  auto r = h.signer->sign(SignRequest{test::pkh(test::kB2Pkh), hex(test::kAttestationHex), std::nullopt});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, SignErrc::UnknownKey);
  EXPECT_EQ(r.error().message, "no keys for the source contract tz1gjaF81ZRRvdzjobyfVNsAeSC6PScjfQwN");
  EXPECT_TRUE(h.records().empty());
}

TEST(Signer, StopAcceptingRefusesEverythingAfterwards) {
  test::Harness h;
  ASSERT_TRUE(h.sign(attestation(100, 0)).ok());
  h.signer->stop_accepting();
  EXPECT_FALSE(h.signer->accepting());
  for (const Bytes& p : {attestation(101, 0), attestation(100, 0)}) {
    auto r = h.sign(p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, SignErrc::ShuttingDown);
  }
  EXPECT_EQ(h.key->calls(), 1);
  EXPECT_EQ(record_of(h, tezos::Kind::Attestation)->level, 100);
}

// Before a UPS power-off the daemon waits for the signature in flight, then closes the store.
TEST(Signer, WaitIdleReturnsWhenTheLastSignatureInFlightEnds) {
  test::Harness h;
  h.key->set_delay(std::chrono::milliseconds(300));  // a slow device
  auto in_flight = std::async(std::launch::async, [&] { return h.sign(attestation(100, 0)); });
  while (h.key->calls() == 0) std::this_thread::yield();  // past the accepting check, in the device
  h.signer->stop_accepting();
  EXPECT_FALSE(h.signer->wait_idle(std::chrono::milliseconds(10))) << "a signature is still in flight";
  EXPECT_TRUE(h.signer->wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(h.signer->in_flight(), 0);
  EXPECT_TRUE(in_flight.get().ok()) << "the signature that was in flight finishes";
  EXPECT_TRUE(h.signer->wait_idle(std::chrono::milliseconds(0))) << "idle stays idle";
}

TEST(Signer, DurableWriteFailureSignsNothing) {
  test::Harness h;
  h.store.fail_durable = true;
  auto r = h.sign(hex(test::kAttestationHex));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, SignErrc::StoreFailed);
  EXPECT_EQ(h.key->calls(), 0) << "a signature before the watermark is durable";
  EXPECT_TRUE(h.records().empty());

  h.store.fail_durable = false;
  auto retry = h.sign(hex(test::kAttestationHex));
  ASSERT_TRUE(retry.ok()) << retry.error().message;
  EXPECT_EQ(retry->signature, test::kB1AttestationSig);
}

// A key may start what signs nothing (a Ledger's path exchange) while the watermark is fsynced;
// the signature itself only after.
TEST(Signer, TheKeyStartsBeforeTheFsyncAndSignsOnlyAfterIt) {
  test::Harness h;
  std::vector<std::string> events;
  h.key->events = &events;
  h.store.events = &events;
  ASSERT_TRUE(h.sign(attestation(100, 0)).ok());
  EXPECT_EQ(events, (std::vector<std::string>{"begin", "put_durable", "finish"}));

  events.clear();  // an identical retry is answered from the store: the key is not even started
  ASSERT_TRUE(h.sign(attestation(100, 0)).ok());
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(h.sign(attestation(100, 0, 0x01)).error().code, SignErrc::WatermarkRefused);
  EXPECT_TRUE(events.empty()) << "a refused request started the key";
}

TEST(Signer, AFailedFsyncAbandonsTheStartedSignature) {
  test::Harness h;
  std::vector<std::string> events;
  h.key->events = &events;
  h.store.events = &events;
  h.store.fail_durable = true;
  auto r = h.sign(attestation(100, 0));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, SignErrc::StoreFailed);
  EXPECT_EQ(events, (std::vector<std::string>{"begin", "put_durable", "abandon"}));
  EXPECT_EQ(h.key->calls(), 0);
}

TEST(Signer, DeviceRefusalIsARefusalAndKeepsTheWatermark) {
  test::Harness h;
  h.key->set_failure(keys::KeyError::Code::Refused);
  auto r = h.sign(attestation(100, 0));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, SignErrc::BackendRefused);

  h.key->set_failure(keys::KeyError::Code::Unavailable);
  auto u = h.sign(attestation(101, 0));
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code, SignErrc::BackendUnavailable);

  // The watermark advanced before the device was asked: another payload at that slot stays refused,
  // the same payload may be signed once the device is back.
  h.key->set_failure(std::nullopt);
  EXPECT_EQ(h.sign(attestation(101, 0, 0x01)).error().code, SignErrc::WatermarkRefused);
  auto same = h.sign(attestation(101, 0));
  ASSERT_TRUE(same.ok()) << same.error().message;
}

TEST(Signer, MalformedAndForbiddenPayloadsSignNothing) {
  test::Harness h;
  EXPECT_EQ(h.sign(Bytes{}).error().code, SignErrc::Malformed);
  EXPECT_EQ(h.sign(ByteView(hex(test::kAttestationHex)).first(47)).error().code, SignErrc::Malformed);
  auto magic = h.sign(hex("04"));
  EXPECT_EQ(magic.error().code, SignErrc::PolicyRefused);
  EXPECT_EQ(magic.error().message, "magic byte 0x04 not allowed");
  EXPECT_EQ(h.key->calls(), 0);
  EXPECT_TRUE(h.records().empty());
}

// The mainnet rule: a key in software (soft, or a Ledger reached over tcp://, i.e. Speculos or
// pisigner-vledger) needs allow_mainnet; only a hardware Ledger is allowed by default.
TEST(Signer, MainnetNeedsAHardwareKeyOrAllowMainnet) {
  Bytes mainnet = attestation(100, 0);
  std::copy(tezos::kMainnetChainId.bytes.begin(), tezos::kMainnetChainId.bytes.end(), mainnet.begin() + 1);
  {
    test::Harness h;
    h.key->set_backend("ledger");
    h.key->set_hardware(false);  // a tcp:// device
    auto r = h.sign(mainnet);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, SignErrc::PolicyRefused);
    EXPECT_NE(r.error().message.find("set allow_mainnet = true"), std::string::npos) << r.error().message;
    EXPECT_EQ(h.key->calls(), 0);
  }
  {
    test::Harness h;
    h.key->set_backend("ledger");  // on USB
    EXPECT_TRUE(h.sign(mainnet).ok());
  }
  {
    test::HarnessOptions o;
    o.allow_mainnet = true;
    test::Harness h(o);
    h.key->set_backend("ledger");
    h.key->set_hardware(false);
    EXPECT_TRUE(h.sign(mainnet).ok());
  }
  EXPECT_FALSE(keys::is_hardware_device("tcp://127.0.0.1:9999"));
  EXPECT_TRUE(keys::is_hardware_device("hid"));
  EXPECT_TRUE(keys::is_hardware_device("0001"));
}

TEST(Signer, AuthenticationIsCheckedBeforeAnythingIsSigned) {
  test::HarnessOptions o;
  o.auth_required = true;
  o.authorized_keys = {std::string(test::kB2Pk)};
  test::Harness h(o);
  EXPECT_EQ(h.sign(hex(test::kAttestationHex)).error().code, SignErrc::AuthMissing);
  EXPECT_EQ(h.sign(hex(test::kAttestationHex), std::string(test::kAuth03ByB2)).error().code, SignErrc::AuthInvalid);
  EXPECT_EQ(h.key->calls(), 0);
  EXPECT_TRUE(h.records().empty());
  auto ok = h.sign(hex(test::kAttestationHex), std::string(test::kAuthAttestationByB2));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->signature, test::kB1AttestationSig);
}

TEST(Signer, NonWatermarkedKindsSignWithoutTouchingTheStore) {
  test::HarnessOptions o;
  o.policy.magic_bytes = {0x03};
  test::Harness h(o);
  auto r = h.sign(hex("03"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->signature, test::kB1Sig03);
  EXPECT_FALSE(r->watermark);
  EXPECT_EQ(h.store.ops, 0);
}

TEST(Signer, MetricsCountRequestsByKindAndResult) {
  test::Harness h;
  auto& m = h.metrics;
  const std::string total = "pisigner_sign_requests_total";
  ASSERT_TRUE(h.sign(attestation(100, 0)).ok());
  ASSERT_TRUE(h.sign(attestation(100, 0)).ok());
  ASSERT_FALSE(h.sign(attestation(99, 0)).ok());
  ASSERT_FALSE(h.sign(hex("05")).ok());
  EXPECT_EQ(m.counter_value(total, {{"kind", "attestation"}, {"result", "ok"}}), 1);
  EXPECT_EQ(m.counter_value(total, {{"kind", "attestation"}, {"result", "cached"}}), 1);
  EXPECT_EQ(m.counter_value(total, {{"kind", "attestation"}, {"result", "watermark_refused"}}), 1);
  EXPECT_EQ(m.counter_value(total, {{"kind", "magic_05"}, {"result", "policy_refused"}}), 1);
  EXPECT_EQ(m.counter_value("pisigner_watermark_refusals_total", {{"kind", "attestation"}}), 1);
  EXPECT_EQ(m.counter_value("pisigner_policy_refusals_total", {{"kind", "magic_05"}}), 1);
  const std::string text = m.render();
  EXPECT_NE(text.find("pisigner_sign_requests_total{kind=\"attestation\",result=\"ok\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pisigner_sign_duration_seconds_count{kind=\"attestation\"} 2\n"), std::string::npos) << text;
}

// The first payload byte is the client's: every value it can take leaves a bounded label set.
TEST(Signer, MetricsKindLabelsStayBoundedForEveryFirstByte) {
  test::Harness h;
  for (int b = 0; b < 256; ++b) (void)h.sign(Bytes{static_cast<std::uint8_t>(b), 0x00, 0x01});
  (void)h.sign(Bytes{});
  std::set<std::string> kinds;
  std::istringstream lines(h.metrics.render());
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("pisigner_sign_requests_total{kind=\"", 0) != 0) continue;
    const auto at = line.find('"') + 1;
    kinds.insert(line.substr(at, line.find('"', at) - at));
  }
  EXPECT_TRUE(kinds.count("magic_05")) << "known magic bytes keep their own label";
  EXPECT_TRUE(kinds.count("magic_other"));
  EXPECT_FALSE(kinds.count("magic_ff"));
  // 8 magic bytes, "other", "empty" and the watermarked kinds a malformed 0x11-0x13 may still name.
  EXPECT_LE(kinds.size(), 14u);
}

TEST(Signer, race_SameSlotDifferentPayloadsExactlyOneIsSigned) {
  test::Harness h;
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::atomic<int> signed_count{0}, refused{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto r = h.sign(attestation(500, 1, static_cast<std::uint8_t>(i)));
      if (r.ok()) {
        ++signed_count;
      } else if (r.error().code == SignErrc::WatermarkRefused) {
        ++refused;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(signed_count.load(), 1);
  EXPECT_EQ(refused.load(), kThreads - 1);
  EXPECT_EQ(h.key->calls(), 1);
}

// Walk every store operation of a short baking sequence, failing each in turn. Whatever fails:
// nothing is signed without a durable watermark, no second payload is ever signed for a slot,
// returned signatures are the ones a fault-free run returns, and a fault-free retry recovers.
TEST(Signer, NthStoreOperationFails) {
  const std::vector<Bytes> steps = {attestation(10, 0), attestation(10, 0), attestation(10, 0, 0x01),
                                    attestation(11, 0), test::with_be32(hex(test::kBlockHex), 5, 11)};
  std::vector<std::string> baseline;
  {
    test::Harness h;
    for (const auto& s : steps) {
      auto r = h.sign(s);
      baseline.push_back(r.ok() ? r->signature : "refused");
    }
    ASSERT_EQ(baseline[2], "refused");
    ASSERT_EQ(baseline[0], baseline[1]);
  }

  int injected = 0;
  for (int n = 1; n < 100; ++n) {
    test::Harness h;
    h.store.fail_at = n;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const int calls_before = h.key->calls();
      const int ops_before = h.store.ops;
      auto r = h.sign(steps[i]);
      const bool fault_here = h.store.fail_at > ops_before && h.store.fail_at <= h.store.ops;
      if (r.ok()) {
        EXPECT_EQ(r->signature, baseline[i]) << "n=" << n << " step " << i;
        // The watermark covering this signature is durable.
        auto rec = record_of(h, r->watermark->kind);
        ASSERT_TRUE(rec) << "n=" << n;
        EXPECT_GE(rec->level, r->watermark->level);
      } else if (r.error().code == SignErrc::StoreFailed) {
        EXPECT_TRUE(fault_here) << "n=" << n << " step " << i << ": " << r.error().message;
        EXPECT_EQ(h.key->calls(), calls_before) << "n=" << n << ": signed although the store failed";
        // The fault was transient: an immediate retry gets what a fault-free run got.
        auto retry = h.sign(steps[i]);
        EXPECT_EQ(retry.ok() ? retry->signature : "refused", baseline[i]) << "retry after n=" << n << " step " << i;
      } else {
        EXPECT_EQ(baseline[i], "refused") << "n=" << n << " step " << i << ": " << r.error().message;
      }
      if (i == 2) {
        EXPECT_FALSE(r.ok()) << "n=" << n << ": a second payload for (10,0) was signed";
      }
    }
    if (h.store.failed_op.empty()) break;  // n is past the last operation: every one has been failed
    ++injected;
  }
  EXPECT_GE(injected, 8) << "the walk should cover every get/put of the sequence";
}

}  // namespace
}  // namespace pisigner::core
