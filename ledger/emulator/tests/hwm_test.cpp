// Signing: the key check, the high-watermark acceptance table (reference ledger-apdu.md §3.2,
// app src/baking_auth.c), the main/test slot rule, the message parser and the SIGN flow.
#include <gtest/gtest.h>

#include "pisigner/crypto/signing.hpp"
#include "pisigner/ledger/emulator/app_model.hpp"
#include "test_util.hpp"

using namespace pisigner;
using namespace pisigner::ledger::emulator;
using namespace vledger_test;

namespace {

constexpr std::uint8_t kSign = 0x04, kSignWithHash = 0x0F;

enum class Kind { Block, Pre, Att };

Bytes message(Kind k, std::uint32_t chain, std::uint32_t level, std::uint32_t round) {
  switch (k) {
    case Kind::Block: return block(chain, level, round);
    case Kind::Pre: return preattestation(chain, level, round);
    case Kind::Att: return attestation(chain, level, round);
  }
  return {};
}

AppState authorized(std::uint8_t curve = 0, std::uint32_t chain = kMainnet) {
  AppState s;
  s.main_chain_id = chain;
  s.baking_key = KeyRef{kTezosPath, curve};
  return s;
}

struct Signer {
  explicit Signer(AppState s) : model(Keyring::from_mnemonic(kTestMnemonic), std::move(s)) {}
  // Select the key (P1=0x00), then send the whole message (P1=0x81).
  ApduResponse sign(const Bytes& msg, std::uint8_t curve = 0, const std::vector<std::uint32_t>& path = kTezosPath,
                    std::uint8_t ins = kSignWithHash) {
    auto sel = model.handle(apdu(ins, 0x00, curve, path_bytes(path)));
    if (sel.sw != 0x9000) return sel;
    return model.handle(apdu(ins, 0x81, 0, msg));
  }
  std::uint16_t sw(const Bytes& msg) { return sign(msg).sw; }
  BakingAppModel model;
};

}  // namespace

// Every row of the acceptance table, for each kind and each combination of flags.
TEST(Watermark, AcceptanceTable) {
  const std::uint32_t Lh = 100, Rh = 2;
  struct Row {
    const char* name;
    std::uint32_t level, round;
    // accepted[kind][A][P]
    bool accepted[3][2][2];
  };
  const Row rows[] = {
      {"higher level, lower round", Lh + 1, 0, {{{1, 1}, {1, 1}}, {{1, 1}, {1, 1}}, {{1, 1}, {1, 1}}}},
      {"same level, higher round", Lh, Rh + 1, {{{1, 1}, {1, 1}}, {{1, 1}, {1, 1}}, {{1, 1}, {1, 1}}}},
      // same (L, R): block never; preattestation only if neither flag; attestation only if not A.
      {"same level and round", Lh, Rh, {{{0, 0}, {0, 0}}, {{1, 0}, {0, 0}}, {{1, 1}, {0, 0}}}},
      {"same level, lower round", Lh, Rh - 1, {{{0, 0}, {0, 0}}, {{0, 0}, {0, 0}}, {{0, 0}, {0, 0}}}},
      {"lower level, higher round", Lh - 1, Rh + 5, {{{0, 0}, {0, 0}}, {{0, 0}, {0, 0}}, {{0, 0}, {0, 0}}}},
  };
  for (const Row& row : rows) {
    for (int kind = 0; kind < 3; ++kind) {
      for (int a = 0; a < 2; ++a) {
        for (int p = 0; p < 2; ++p) {
          SCOPED_TRACE(::testing::Message() << row.name << " kind=" << kind << " A=" << a << " P=" << p);
          AppState s = authorized();
          s.main = Watermark{Lh, Rh, a == 1, p == 1};
          Signer signer(s);
          const std::uint16_t sw = signer.sw(message(static_cast<Kind>(kind), kMainnet, row.level, row.round));
          EXPECT_EQ(sw, row.accepted[kind][a][p] ? 0x9000 : 0x6A80);
          if (sw != 0x9000) {
            EXPECT_EQ(signer.model.state().main, s.main) << "a refusal leaves the watermark alone";
          }
        }
      }
    }
  }
}

TEST(Watermark, AdvanceSetsLevelRoundAndOnlyTheKindsFlag) {
  AppState s = authorized();
  s.main = Watermark{100, 2, true, true};
  Signer signer(s);
  ASSERT_EQ(signer.sw(preattestation(kMainnet, 100, 3)), 0x9000);
  EXPECT_EQ(signer.model.state().main, (Watermark{100, 3, false, true}));
  ASSERT_EQ(signer.sw(attestation(kMainnet, 100, 3)), 0x9000);
  EXPECT_EQ(signer.model.state().main, (Watermark{100, 3, true, true}));
  ASSERT_EQ(signer.sw(block(kMainnet, 101, 0)), 0x9000);
  EXPECT_EQ(signer.model.state().main, (Watermark{101, 0, false, false}));
  auto q = signer.model.handle(apdu(0x08, 0, 0, {}));
  EXPECT_EQ(to_hex(q.data), "0000006500000000");
}

TEST(Watermark, TenderbakeOrderThenReproposal) {
  Signer signer(authorized());
  EXPECT_EQ(signer.sw(block(kMainnet, 10, 0)), 0x9000);
  EXPECT_EQ(signer.sw(preattestation(kMainnet, 10, 0)), 0x9000);
  EXPECT_EQ(signer.sw(attestation(kMainnet, 10, 0)), 0x9000);
  EXPECT_EQ(signer.sw(block(kMainnet, 10, 0)), 0x6A80) << "double baking";
  EXPECT_EQ(signer.sw(preattestation(kMainnet, 10, 0)), 0x6A80) << "preattestation after attestation";
  EXPECT_EQ(signer.sw(attestation(kMainnet, 10, 0)), 0x6A80) << "double attestation";
  EXPECT_EQ(signer.sw(block(kMainnet, 10, 1)), 0x9000) << "re-proposal at the next round";
}

TEST(Watermark, BlockAtResetLevelIsRefused) {
  Signer signer(authorized());
  ASSERT_EQ(signer.model.handle(apdu(0x06, 0, 0, be32(500))).sw, 0x9000);
  EXPECT_EQ(signer.sw(block(kMainnet, 500, 0)), 0x6A80);
  EXPECT_EQ(signer.sw(block(kMainnet, 501, 0)), 0x9000);
  // To allow level N, reset to N-1.
  ASSERT_EQ(signer.model.handle(apdu(0x06, 0, 0, be32(599))).sw, 0x9000);
  EXPECT_EQ(signer.sw(block(kMainnet, 600, 0)), 0x9000);
}

TEST(Watermark, BlockAtSetupLevelIsRefused) {
  Signer signer(AppState{});
  Bytes d = be32(kMainnet);
  for (auto v : {300u, 0u}) {
    auto b = be32(v);
    d.insert(d.end(), b.begin(), b.end());
  }
  auto p = path_bytes(kTezosPath);
  d.insert(d.end(), p.begin(), p.end());
  ASSERT_EQ(signer.model.handle(apdu(0x0A, 0, 0, d)).sw, 0x9000);
  EXPECT_EQ(signer.sw(block(kMainnet, 300, 0)), 0x6A80);
  EXPECT_EQ(signer.sw(block(kMainnet, 300, 1)), 0x9000);
}

TEST(Watermark, ResetKeepsHadPreattestation) {
  Signer signer(authorized());
  ASSERT_EQ(signer.sw(preattestation(kMainnet, 50, 0)), 0x9000);
  ASSERT_EQ(signer.model.handle(apdu(0x06, 0, 0, be32(50))).sw, 0x9000);
  EXPECT_EQ(signer.sw(preattestation(kMainnet, 50, 0)), 0x6A80);
  EXPECT_EQ(signer.sw(attestation(kMainnet, 50, 0)), 0x9000);
}

TEST(Watermark, LevelAtOrAbove2Pow30IsWrongValues) {
  Signer signer(authorized());
  EXPECT_EQ(signer.sw(block(kMainnet, 1u << 30, 0)), 0x6A80);
  EXPECT_EQ(signer.sw(attestation(kMainnet, 0xFFFFFFFF, 0)), 0x6A80);
  EXPECT_EQ(signer.model.state().main, Watermark{});
  EXPECT_EQ(signer.sw(block(kMainnet, (1u << 30) - 1, 0)), 0x9000);
}

TEST(ChainSlots, ForeignChainsShareTheTestSlot) {
  Signer signer(authorized(0, kMainnet));
  ASSERT_EQ(signer.sw(block(kMainnet, 100, 0)), 0x9000);
  EXPECT_EQ(signer.sw(block(kOtherChain, 10, 0)), 0x9000) << "test slot starts at 0";
  EXPECT_EQ(signer.sw(block(0x01020304, 10, 0)), 0x6A80) << "every other chain shares the test slot";
  EXPECT_EQ(signer.sw(block(kMainnet, 100, 0)), 0x6A80);
  auto all = signer.model.handle(apdu(0x0B, 0, 0, {}));
  EXPECT_EQ(to_hex(all.data), "00000064000000000000000a000000007a06a770");
}

TEST(ChainSlots, UnsetMainChainPutsEveryChainInMain) {
  Signer signer(authorized(0, 0));
  ASSERT_EQ(signer.sw(block(kMainnet, 100, 0)), 0x9000);
  EXPECT_EQ(signer.sw(block(kOtherChain, 50, 0)), 0x6A80);
  EXPECT_EQ(signer.model.state().test, Watermark{});
}

TEST(KeyCheck, WrongOrMissingKeyIsSecurityBeforeTheLevelCheck) {
  AppState s = authorized(0);
  s.main = Watermark{100, 0, false, false};
  Signer signer(s);
  const Bytes low = block(kMainnet, 50, 0);
  EXPECT_EQ(signer.sign(low, 1).sw, 0x6982) << "same path, other curve";
  EXPECT_EQ(signer.sign(low, 0, {0x8000002C, 0x800006C1, 0x80000001, 0x80000000}).sw, 0x6982);
  EXPECT_EQ(signer.sign(low, 0, {0x8000002C, 0x800006C1, 0x80000000}).sw, 0x6982) << "prefix of the path";
  EXPECT_EQ(signer.sign(low).sw, 0x6A80) << "the authorized key reaches the level check";
  ASSERT_EQ(signer.model.handle(apdu(0x0C, 0, 0, {})).sw, 0x9000);
  EXPECT_EQ(signer.sign(block(kMainnet, 101, 0)).sw, 0x6982) << "deauthorized";
  Signer fresh(AppState{});
  EXPECT_EQ(fresh.sign(block(kMainnet, 1, 0)).sw, 0x6982) << "fresh device";
}

TEST(Parser, NonBakingMessagesAreParseErrors) {
  Signer signer(authorized());
  Bytes transaction{0x03};
  transaction.insert(transaction.end(), 32, 0x11);
  transaction.push_back(0x6c);
  transaction.insert(transaction.end(), 60, 0x00);
  EXPECT_EQ(signer.sw(transaction), 0x9405);
  EXPECT_EQ(signer.sw(Bytes{0x05, 0x01, 0x00}), 0x9405);  // Micheline
  Bytes emmy = block(kMainnet, 10, 0);
  emmy[0] = 0x01;
  EXPECT_EQ(signer.sw(emmy), 0x9405);
  emmy[0] = 0x02;
  EXPECT_EQ(signer.sw(emmy), 0x9405);
  EXPECT_EQ(signer.sw(Bytes{}), 0x9405);
  Bytes short_att = attestation(kMainnet, 10, 0);
  short_att.resize(short_att.size() - 1);
  EXPECT_EQ(signer.sw(short_att), 0x9405);
  Bytes bad_fitness = block(kMainnet, 10, 0);
  bad_fitness[1 + 4 + 4 + 1 + 32 + 8 + 1 + 32 + 3] = 20;  // fitness size
  EXPECT_EQ(signer.sw(bad_fitness), 0x9405);
  Bytes emmy_fitness = block(kMainnet, 10, 0);
  emmy_fitness[1 + 4 + 4 + 1 + 32 + 8 + 1 + 32 + 8] = 1;  // fitness version tag
  EXPECT_EQ(signer.sw(emmy_fitness), 0x9405);
  EXPECT_EQ(signer.model.state().main, Watermark{});
  EXPECT_EQ(signer.sw(block(kMainnet, 10, 3, /*locked_round=*/true)), 0x9000);
  EXPECT_EQ(signer.model.state().main, (Watermark{10, 3, false, false}));
}

TEST(SignFlow, PacketRules) {
  Signer signer(authorized());
  const Bytes msg = block(kMainnet, 10, 0);
  EXPECT_EQ(signer.model.handle(apdu(kSign, 0x81, 0, msg)).sw, 0x917E) << "no key selected yet";
  EXPECT_EQ(signer.model.handle(apdu(kSign, 0x00, 0, {0x00})).sw, 0x6A80);
  EXPECT_EQ(signer.model.handle(apdu(kSign, 0x00, 7, path_bytes(kTezosPath))).sw, 0x6B00);
  ASSERT_EQ(signer.model.handle(apdu(kSign, 0x00, 0, path_bytes(kTezosPath))).sw, 0x9000);
  EXPECT_EQ(signer.model.handle(apdu(kSign, 0x02, 0, msg)).sw, 0x6B00);
  // A non-last chunk is accepted, but a second data chunk is not.
  EXPECT_EQ(signer.model.handle(apdu(kSign, 0x01, 0, msg)).sw, 0x9000);
  EXPECT_EQ(signer.model.handle(apdu(kSign, 0x81, 0, msg)).sw, 0x9405);
  EXPECT_EQ(signer.model.state().main, Watermark{});
  // The selected key stays in RAM: after an error or a signature, another message needs no reselect.
  EXPECT_EQ(signer.model.handle(apdu(kSign, 0x81, 0, msg)).sw, 0x9000);
  EXPECT_EQ(signer.model.handle(apdu(kSign, 0x81, 0, block(kMainnet, 11, 0))).sw, 0x9000);
}

TEST(SignFlow, RepliesVerifyForEveryCurve) {
  for (std::uint8_t curve : {0, 1, 2}) {
    SCOPED_TRACE(static_cast<int>(curve));
    const auto c = static_cast<crypto::Curve>(curve);
    Signer signer(authorized(curve));
    auto pk = signer.model.handle(apdu(0x02, 0, curve, path_bytes(kTezosPath)));
    ASSERT_EQ(pk.sw, 0x9000);
    Bytes key(pk.data.begin() + 1, pk.data.end());
    if (curve == 0) key.erase(key.begin());
    else key = *crypto::compress_point(c, key);

    const Bytes msg = attestation(kMainnet, 42, 1);
    const auto digest = crypto::blake2b_256(msg);
    auto with_hash = signer.sign(msg, curve, kTezosPath, kSignWithHash);
    ASSERT_EQ(with_hash.sw, 0x9000);
    ASSERT_GT(with_hash.data.size(), 32u);
    EXPECT_EQ(to_hex(ByteView(with_hash.data).first(32)), to_hex(digest));
    Bytes sig(with_hash.data.begin() + 32, with_hash.data.end());

    auto plain = signer.sign(block(kMainnet, 43, 0), curve, kTezosPath, kSign);
    ASSERT_EQ(plain.sw, 0x9000);
    const auto plain_digest = crypto::blake2b_256(block(kMainnet, 43, 0));

    for (auto [s, d] : {std::pair{sig, digest}, std::pair{plain.data, plain_digest}}) {
      crypto::Signature64 rs{};
      if (curve == 0) {
        ASSERT_EQ(s.size(), 64u);
        std::copy(s.begin(), s.end(), rs.begin());
      } else {
        s[0] &= 0xFE;
        auto compact = crypto::der_to_compact(c, s);
        ASSERT_TRUE(compact.ok());
        rs = *compact;
      }
      EXPECT_TRUE(crypto::verify_digest(c, key, d, rs));
    }
  }
}
