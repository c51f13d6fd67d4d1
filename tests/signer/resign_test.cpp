// The identical re-sign rule through the whole pipeline: a watermark made durable whose signature
// was lost (crash before the signature reached disk) is signed again only by a deterministic key,
// and then to the byte-identical signature. A different signature of the same block would be a
// second block hash at one level and round (double baking).
#include <gtest/gtest.h>

#include "pisigner/crypto/signing.hpp"
#include "pisigner/keys/ledger_key.hpp"
#include "signer_fixtures.hpp"

namespace pisigner::test {
namespace {

// A Signer over one key and a memory store, and a way to lose the stored signatures.
struct OneKey {
  explicit OneKey(std::unique_ptr<keys::Key> k)
      : store(hwm::make_memory_store()), policy(policy::PolicyConfig{}),
        auth(policy::Authenticator::build(false, {}).value()), watermarks(*store) {
    key_pkh = k->pkh();
    std::vector<keys::KeyEntry> entries;
    entries.push_back(keys::KeyEntry{std::move(k), false});
    registry = keys::Registry::build(std::move(entries)).value();
    signer = std::make_unique<core::Signer>(registry, policy, auth, watermarks, metrics, clock);
  }
  Result<core::SignResult, core::SignError> sign(const Bytes& payload) {
    return signer->sign(core::SignRequest{key_pkh, payload, std::nullopt});
  }
  // The state a crash leaves when the watermark's commit reached disk and the signature's did not.
  void lose_signatures() {
    const auto records = store->list().value();  // a local: the loop must not outlive the Result
    for (auto [k, r] : records) {
      r.signature.reset();
      ASSERT_TRUE(store->put_durable(k, r).ok());
    }
  }

  std::unique_ptr<hwm::Store> store;
  policy::Policy policy;
  policy::Authenticator auth;
  hwm::Watermarks watermarks;
  metrics::Registry metrics;
  ManualClock clock;
  keys::Registry registry;
  tezos::PublicKeyHash key_pkh;
  std::unique_ptr<core::Signer> signer;
};

std::unique_ptr<keys::SoftKey> soft(crypto::Curve curve, std::uint8_t fill) {
  return std::make_unique<keys::SoftKey>(crypto::SecretKey::from_bytes(curve, Bytes(32, fill)).value());
}

class ResignAfterLostSignature : public ::testing::TestWithParam<crypto::Curve> {};

TEST_P(ResignAfterLostSignature, SoftKeyGivesTheByteIdenticalSignature) {
  OneKey k(soft(GetParam(), 0x42));
  for (std::int32_t level = 100; level < 110; ++level) {  // ten slots: a random nonce would differ
    const Bytes payload = attestation(level, 0);
    auto first = k.sign(payload);
    ASSERT_TRUE(first) << first.error().message;
    k.lose_signatures();
    auto again = k.sign(payload);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_FALSE(again->cached);  // signed afresh, not served from the store
    EXPECT_EQ(again->signature, first->signature) << "level " << level;
  }
}

INSTANTIATE_TEST_SUITE_P(Curves, ResignAfterLostSignature,
                         ::testing::Values(crypto::Curve::Ed25519, crypto::Curve::Secp256k1, crypto::Curve::P256),
                         [](const auto& info) { return std::string(crypto::curve_name(info.param)); });

TEST(ResignAfterLostSignature, NonDeterministicKeyIsRefusedNotSignedTwice) {
  auto counting = std::make_unique<CountingKey>(kB1Sk);
  CountingKey* key = counting.get();
  key->set_deterministic(false);
  OneKey k(std::move(counting));
  const Bytes payload = attestation(100, 0);
  ASSERT_TRUE(k.sign(payload));
  k.lose_signatures();
  auto again = k.sign(payload);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, core::SignErrc::WatermarkRefused);
  EXPECT_NE(again.error().message.find("not deterministic"), std::string::npos) << again.error().message;
  EXPECT_EQ(key->calls(), 1);
}

TEST(ResignAfterLostSignature, EveryKeyBackendDeclaresItself) {
  for (auto c : {crypto::Curve::Ed25519, crypto::Curve::Secp256k1, crypto::Curve::P256}) {
    EXPECT_TRUE(soft(c, 7)->deterministic()) << crypto::curve_name(c);
  }
  using ledger::DerivationType;
  for (auto d : {DerivationType::Ed25519, DerivationType::Bip32Ed25519, DerivationType::Secp256k1, DerivationType::P256}) {
    EXPECT_TRUE(keys::ledger_signs_deterministically(d)) << static_cast<int>(d);
  }
  EXPECT_FALSE(keys::ledger_signs_deterministically(DerivationType::Bls12_381));
}

}  // namespace
}  // namespace pisigner::test
