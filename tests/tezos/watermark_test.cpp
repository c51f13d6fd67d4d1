// Watermark extraction (reference/octez-signer.md §5.2-5.3) on Signatory's published payloads,
// the BLS-mode layout, and every truncation: a too-short payload is an error, never a read
// past the end (each case is copied into an exact-size buffer so ASan sees any overread).
#include <gtest/gtest.h>

#include "pisigner/tezos/watermark.hpp"
#include "vectors.hpp"

namespace pisigner::tezos {
namespace {

using crypto::Curve;
using test::hex;

constexpr ChainId kChainEd9d217c{{0xed, 0x9d, 0x21, 0x7c}};

Watermark extract_ok(const Bytes& payload, Curve curve) {
  auto r = extract_watermark(payload, curve);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  if (!r.ok() || !r->has_value()) {
    ADD_FAILURE() << "no watermark";
    return {};
  }
  return **r;
}

std::string extract_error(const Bytes& payload, Curve curve) {
  auto r = extract_watermark(payload, curve);
  return r.ok() ? std::string("<ok>") : r.error().message;
}

// 0x13 attestation as a tz4 key signs it: the 80-byte payload without the slot, tag 0x29.
Bytes bls_mode(const Bytes& attestation, std::uint8_t tag) {
  Bytes out(attestation.begin(), attestation.begin() + 37);
  out.push_back(tag);
  out.insert(out.end(), attestation.begin() + 40, attestation.end());
  return out;
}

TEST(Watermark, SignatoryPreattestation) {
  auto w = extract_ok(hex(test::kPreattestationHex), Curve::Ed25519);
  EXPECT_EQ(w.magic, 0x12);
  EXPECT_EQ(w.kind, Kind::Preattestation);
  EXPECT_EQ(w.chain, kChainEd9d217c);
  EXPECT_EQ(w.level, 2);
  EXPECT_EQ(w.round, 4);
}

TEST(Watermark, SignatoryAttestation) {
  for (Curve c : {Curve::Ed25519, Curve::Secp256k1, Curve::P256}) {
    auto w = extract_ok(hex(test::kAttestationHex), c);
    EXPECT_EQ(w.kind, Kind::Attestation);
    EXPECT_EQ(w.chain, kChainEd9d217c);
    EXPECT_EQ(w.level, 20877);
    EXPECT_EQ(w.round, 0);
  }
}

TEST(Watermark, SignatoryBlock) {
  auto w = extract_ok(hex(test::kBlockHex), Curve::Ed25519);
  EXPECT_EQ(w.magic, 0x11);
  EXPECT_EQ(w.kind, Kind::Block);
  EXPECT_EQ(w.chain, kChainEd9d217c);
  EXPECT_EQ(w.level, 20878);
  EXPECT_EQ(w.round, 0);
}

TEST(Watermark, BlockRoundIsTheLastFitnessElement) {
  Bytes block = hex(test::kBlockHex);
  block[87 + 33 - 1] = 7;  // round = int32 at 83 + N, N = 33
  EXPECT_EQ(extract_ok(block, Curve::Ed25519).round, 7);
}

TEST(Watermark, BlsModeAttestationSignedByTz4) {
  Bytes att = bls_mode(hex(test::kAttestationHex), 0x29);
  ASSERT_EQ(att.size(), 78u);
  auto w = extract_ok(att, Curve::Bls12_381);
  EXPECT_EQ(w.kind, Kind::Attestation);
  EXPECT_EQ(w.level, 20877);
  EXPECT_EQ(w.round, 0);

  Bytes pre = bls_mode(hex(test::kPreattestationHex), 0x28);
  auto p = extract_ok(pre, Curve::Bls12_381);
  EXPECT_EQ(p.kind, Kind::Preattestation);
  EXPECT_EQ(p.level, 2);
  EXPECT_EQ(p.round, 4);
}

TEST(Watermark, OffsetsFollowTheSignerCurveNotTheTagByte) {
  // A tz1 layout read as tz4 lands two bytes early (slot||level-high, level-low||round-high).
  auto w = extract_ok(hex(test::kPreattestationHex), Curve::Bls12_381);
  EXPECT_EQ(w.level, 0x00600000);
  EXPECT_EQ(w.round, 0x00020000);
}

TEST(Watermark, DalAttestationIsAnAttestation) {
  Bytes att = hex(test::kAttestationHex);
  att[37] = 0x17;  // attestation_with_dal, followed by a DAL bitset
  att.push_back(0x85);
  att.push_back(0x01);
  auto w = extract_ok(att, Curve::Ed25519);
  EXPECT_EQ(w.kind, Kind::Attestation);
  EXPECT_EQ(w.level, 20877);
  EXPECT_EQ(w.round, 0);
}

TEST(Watermark, LegacyEmmyKinds) {
  // 0x01: chain, then the shell header whose level is at offset 5; no round.
  Bytes block = hex("01" "7a06a770" "000003e8" "01");
  auto b = extract_ok(block, Curve::Ed25519);
  EXPECT_EQ(b.kind, Kind::Block);
  EXPECT_EQ(b.chain, kMainnetChainId);
  EXPECT_EQ(b.level, 1000);
  EXPECT_FALSE(b.round.has_value());

  // 0x02: the level is the last 4 bytes, whatever precedes it.
  Bytes endorsement = hex("02" "7a06a770" "aabbccdd" "eeff" "00000064");
  auto e = extract_ok(endorsement, Curve::Ed25519);
  EXPECT_EQ(e.kind, Kind::Endorsement);
  EXPECT_EQ(e.level, 100);
  EXPECT_FALSE(e.round.has_value());
  EXPECT_EQ(extract_ok(hex("02" "7a06a770" "00000005"), Curve::Ed25519).level, 5);
}

TEST(Watermark, UnwatermarkedMagicBytesHaveNoWatermark) {
  for (std::uint8_t m : {0x03, 0x04, 0x05, 0x00, 0x14, 0xff}) {
    Bytes payload = {m};
    auto r = extract_watermark(payload, Curve::Ed25519);
    ASSERT_TRUE(r.ok()) << int(m);
    EXPECT_FALSE(r->has_value()) << int(m);
  }
}

TEST(Watermark, EmptyPayloadIsAnError) {
  EXPECT_EQ(extract_error({}, Curve::Ed25519), "empty payload");
}

struct Truncation {
  std::string_view hex;
  Curve curve;
  std::size_t minimum;
  std::string_view message;
};

TEST(Watermark, EveryTruncationBelowTheMinimumIsAnError) {
  const Bytes bls_att = bls_mode(hex(test::kAttestationHex), 0x29);
  const std::string bls_hex = to_hex(bls_att);
  const Truncation cases[] = {
      {test::kBlockHex, Curve::Ed25519, 87 + 33, "byte sequence too short to be a block"},
      {test::kPreattestationHex, Curve::Ed25519, 48, "byte sequence too short to be a preattestation"},
      {test::kAttestationHex, Curve::Secp256k1, 48, "byte sequence too short to be an attestation"},
      {bls_hex, Curve::Bls12_381, 46, "byte sequence too short to be an attestation"},
      {"017a06a770000003e8", Curve::Ed25519, 9, "byte sequence too short to be a block"},
      {"027a06a77000000064", Curve::Ed25519, 9, "byte sequence too short to be an endorsement"},
  };
  for (const auto& c : cases) {
    const Bytes full = hex(c.hex);
    for (std::size_t len = 1; len < c.minimum; ++len) {
      Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
      EXPECT_EQ(extract_error(cut, c.curve), c.message) << "length " << len;
    }
    for (std::size_t len = c.minimum; len <= full.size(); ++len) {
      Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
      EXPECT_TRUE(extract_watermark(cut, c.curve).ok()) << c.message << " at length " << len;
    }
  }
}

void set_fitness_length(Bytes& block, std::uint32_t n) {
  block[83] = static_cast<std::uint8_t>(n >> 24);
  block[84] = static_cast<std::uint8_t>(n >> 16);
  block[85] = static_cast<std::uint8_t>(n >> 8);
  block[86] = static_cast<std::uint8_t>(n);
}

TEST(Watermark, FitnessLengthPointingPastTheEnd) {
  const Bytes original = hex(test::kBlockHex);
  for (std::uint32_t n : {std::uint32_t{198 - 87 + 1}, std::uint32_t{0x7fffffff}, std::uint32_t{0xffffffff},
                          std::uint32_t{0xfffffffc}}) {
    Bytes block = original;
    set_fitness_length(block, n);
    EXPECT_EQ(extract_error(block, Curve::Ed25519), "byte sequence too short to be a block") << n;
  }
  // Exactly to the end is in bounds: the round is the payload's last 4 bytes.
  Bytes block = original;
  set_fitness_length(block, 198 - 87);
  auto w = extract_ok(block, Curve::Ed25519);
  EXPECT_EQ(w.round, 0);  // ...0000 at the end of the Signatory block
}

TEST(Watermark, FitnessTooShortToHoldARound) {
  for (std::uint32_t n : {0u, 1u, 3u}) {
    Bytes block = hex(test::kBlockHex);
    set_fitness_length(block, n);
    EXPECT_EQ(extract_error(block, Curve::Ed25519), "invalid block fitness length " + std::to_string(n));
  }
}

TEST(Watermark, NegativeLevelOrRoundIsAnError) {
  Bytes att = hex(test::kAttestationHex);
  att[40] = 0x80;
  EXPECT_EQ(extract_error(att, Curve::Ed25519), "negative level in attestation");
  att = hex(test::kAttestationHex);
  att[44] = 0xff;
  EXPECT_EQ(extract_error(att, Curve::Ed25519), "negative round in attestation");
  Bytes block = hex(test::kBlockHex);
  block[5] = 0xff;
  EXPECT_EQ(extract_error(block, Curve::Ed25519), "negative level in block");
  EXPECT_EQ(extract_error(hex("02" "7a06a770" "ffffffff"), Curve::Ed25519), "negative level in endorsement");
}

TEST(Watermark, KindNamesRoundTrip) {
  for (Kind k : {Kind::Block, Kind::Preattestation, Kind::Attestation, Kind::Endorsement}) {
    EXPECT_EQ(parse_kind(kind_name(k)), k);
  }
  EXPECT_EQ(kind_name(Kind::Preattestation), "preattestation");
  EXPECT_FALSE(parse_kind("preendorsement").has_value());
  EXPECT_FALSE(parse_kind("").has_value());
}

}  // namespace
}  // namespace pisigner::tezos
