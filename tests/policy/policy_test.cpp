// The magic-byte allow-list, the chain allow-list and the soft-key mainnet rule
// (reference/octez-signer.md §4, §5.2); payloads from §11 vector 6.
#include "pisigner/policy/policy.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include "signer_fixtures.hpp"

namespace pisigner::policy {
namespace {

using test::hex;
using Code = PolicyError::Code;
constexpr auto kEd = crypto::Curve::Ed25519;

Bytes on_chain(Bytes payload, const tezos::ChainId& chain) {
  std::copy(chain.bytes.begin(), chain.bytes.end(), payload.begin() + 1);
  return payload;
}

TEST(Policy, DefaultAllowsBakingKindsAndReturnsTheirWatermarks) {
  const Policy p{PolicyConfig{}};
  auto block = p.check(hex(test::kBlockHex), kEd, false);
  ASSERT_TRUE(block.ok()) << block.error().message;
  ASSERT_TRUE(block->has_value());
  EXPECT_EQ((*block)->kind, tezos::Kind::Block);
  EXPECT_EQ((*block)->level, test::kBlockLevel);
  EXPECT_EQ((*block)->round, 0);
  EXPECT_EQ((*block)->chain.to_b58(), "NetXxkAx4woPLyu");

  auto pre = p.check(hex(test::kPreattestationHex), kEd, false);
  ASSERT_TRUE(pre.ok()) << pre.error().message;
  EXPECT_EQ((*pre)->kind, tezos::Kind::Preattestation);
  EXPECT_EQ((*pre)->level, 2);
  EXPECT_EQ((*pre)->round, 4);

  auto att = p.check(hex(test::kAttestationHex), kEd, false);
  ASSERT_TRUE(att.ok()) << att.error().message;
  EXPECT_EQ((*att)->kind, tezos::Kind::Attestation);
  EXPECT_EQ((*att)->level, test::kAttestationLevel);
  EXPECT_EQ((*att)->round, 0);
}

TEST(Policy, DefaultRefusesEveryOtherMagicByteWithOctezWording) {
  const Policy p{PolicyConfig{}};
  for (int b = 0; b < 256; ++b) {
    if (b == 0x11 || b == 0x12 || b == 0x13) continue;
    Bytes payload = hex(test::kAttestationHex);
    payload[0] = static_cast<std::uint8_t>(b);
    auto r = p.check(payload, kEd, true);
    ASSERT_FALSE(r.ok()) << "magic " << b << " was accepted";
    EXPECT_EQ(r.error().code, Code::MagicByte);
    char expected[64];
    std::snprintf(expected, sizeof expected, "magic byte 0x%02X not allowed", static_cast<unsigned>(b));
    EXPECT_EQ(r.error().message, expected);
  }
}

TEST(Policy, MagicByteMessageUsesTwoUppercaseHexDigits) {
  const Policy p{PolicyConfig{}};
  EXPECT_EQ(p.check(hex("04"), kEd, true).error().message, "magic byte 0x04 not allowed");
  EXPECT_EQ(p.check(hex("ab00"), kEd, true).error().message, "magic byte 0xAB not allowed");
  EXPECT_EQ(p.check(hex("00"), kEd, true).error().message, "magic byte 0x00 not allowed");
}

TEST(Policy, ConfiguredAllowListReplacesTheDefault) {
  PolicyConfig cfg;
  cfg.magic_bytes = {0x03};
  const Policy p{cfg};
  auto generic = p.check(hex("031234"), kEd, false);
  ASSERT_TRUE(generic.ok()) << generic.error().message;
  EXPECT_FALSE(generic->has_value()) << "0x03 carries no watermark";
  auto att = p.check(hex(test::kAttestationHex), kEd, false);
  ASSERT_FALSE(att.ok());
  EXPECT_EQ(att.error().message, "magic byte 0x13 not allowed");
}

TEST(Policy, ChainAllowListRefusesOtherChains) {
  PolicyConfig cfg;
  cfg.chains = {test::chain("NetXLH1uAxK7CCh")};
  const Policy p{cfg};
  auto r = p.check(hex(test::kAttestationHex), kEd, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::Chain);
  EXPECT_EQ(r.error().message, "chain NetXxkAx4woPLyu not allowed");

  cfg.chains.insert(test::chain("NetXxkAx4woPLyu"));
  const Policy both{cfg};
  EXPECT_TRUE(both.check(hex(test::kAttestationHex), kEd, false).ok());
  EXPECT_TRUE(both.check(hex(test::kBlockHex), kEd, false).ok());
}

TEST(Policy, EmptyChainListAllowsAnyChain) {
  const Policy p{PolicyConfig{}};
  EXPECT_TRUE(p.check(on_chain(hex(test::kAttestationHex), test::chain("NetXLH1uAxK7CCh")), kEd, false).ok());
}

TEST(Policy, SoftKeyRefusesMainnetUnlessAllowed) {
  const Policy p{PolicyConfig{}};
  for (auto h : {test::kBlockHex, test::kPreattestationHex, test::kAttestationHex}) {
    const Bytes mainnet = on_chain(hex(h), test::chain("NetXdQprcVkpaWU"));
    auto refused = p.check(mainnet, kEd, /*allow_mainnet=*/false);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, Code::Mainnet);
    EXPECT_NE(refused.error().message.find("NetXdQprcVkpaWU"), std::string::npos) << refused.error().message;
    auto allowed = p.check(mainnet, kEd, /*allow_mainnet=*/true);
    ASSERT_TRUE(allowed.ok()) << allowed.error().message;
    EXPECT_EQ((*allowed)->chain, tezos::kMainnetChainId);
  }
}

TEST(Policy, MainnetInTheChainListStillNeedsAllowMainnetForSoftKeys) {
  PolicyConfig cfg;
  cfg.chains = {tezos::kMainnetChainId};
  const Policy p{cfg};
  const Bytes mainnet = on_chain(hex(test::kAttestationHex), tezos::kMainnetChainId);
  EXPECT_EQ(p.check(mainnet, kEd, false).error().code, Code::Mainnet);
  EXPECT_TRUE(p.check(mainnet, kEd, true).ok());
}

TEST(Policy, EmptyPayloadIsMalformed) {
  const Policy p{PolicyConfig{}};
  auto r = p.check(Bytes{}, kEd, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::Malformed);
  EXPECT_EQ(r.error().message, "empty payload");
}

TEST(Policy, TruncatedPayloadsOfEachKindAreMalformed) {
  const Policy p{PolicyConfig{}};
  struct Case {
    std::string_view hex;
    const char* message;
  };
  const Case cases[] = {
      {test::kBlockHex, "byte sequence too short to be a block"},
      {test::kPreattestationHex, "byte sequence too short to be a preattestation"},
      {test::kAttestationHex, "byte sequence too short to be an attestation"},
  };
  for (const auto& c : cases) {
    const Bytes full = hex(c.hex);
    // Every prefix that cuts into the level or round (or, for blocks, the fitness) is refused.
    const std::size_t needed = full[0] == 0x11 ? 87 + 33 : 48;
    for (std::size_t len = 1; len < needed; ++len) {
      auto r = p.check(ByteView(full).first(len), kEd, true);
      ASSERT_FALSE(r.ok()) << c.message << " accepted at length " << len;
      EXPECT_EQ(r.error().code, Code::Malformed);
      EXPECT_EQ(r.error().message, c.message) << "length " << len;
    }
  }
}

TEST(Policy, BlockFitnessLengthBeyondThePayloadIsMalformed) {
  const Policy p{PolicyConfig{}};
  for (std::uint32_t n : {0xffffffffu, 0x7fffffffu, 198u, 112u}) {
    auto r = p.check(test::with_be32(hex(test::kBlockHex), 83, n), kEd, true);
    ASSERT_FALSE(r.ok()) << "fitness length " << n;
    EXPECT_EQ(r.error().code, Code::Malformed);
  }
}

TEST(Policy, Tz4AttestationsUseTheBlsLayout) {
  const Policy p{PolicyConfig{}};
  // §11 vector 6, last item: magic, chain, branch, tag 0x29, level, round, payload hash (78 bytes).
  const Bytes att = hex(test::kAttestationHex);
  Bytes bls(att.begin(), att.begin() + 37);
  bls.push_back(0x29);
  for (auto b : hex("0000518d00000000")) bls.push_back(b);
  bls.insert(bls.end(), att.end() - 32, att.end());
  ASSERT_EQ(bls.size(), 78u);
  auto r = p.check(bls, crypto::Curve::Bls12_381, true);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->level, test::kAttestationLevel);
  EXPECT_EQ((*r)->round, 0);
}

}  // namespace
}  // namespace pisigner::policy
