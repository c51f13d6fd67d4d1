// The model's APDU checks and non-signing commands answer like the Baking app
// (src/apdu.c, apdu_pubkey.c, apdu_setup.c, apdu_reset.c, apdu_query.c).
#include "pisigner/ledger/emulator/app_model.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.hpp"

using namespace pisigner;
using namespace pisigner::ledger::emulator;
using namespace vledger_test;

namespace {

class AppModel : public ::testing::Test {
 protected:
  AppModel() : model(Keyring::from_mnemonic(kTestMnemonic), AppState{}) {}
  ApduResponse send(const Bytes& raw) { return model.handle(raw); }
  ApduResponse send(std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, const Bytes& data) {
    return model.handle(apdu(ins, p1, p2, data));
  }
  Bytes setup_data(std::uint32_t chain, std::uint32_t main, std::uint32_t test) {
    Bytes d = be32(chain);
    for (auto v : {main, test}) {
      auto b = be32(v);
      d.insert(d.end(), b.begin(), b.end());
    }
    auto p = path_bytes(kTezosPath);
    d.insert(d.end(), p.begin(), p.end());
    return d;
  }
  BakingAppModel model;
};

}  // namespace

TEST_F(AppModel, VersionIsBakingApp251) {
  auto r = send(0x00, 0, 0, {});
  EXPECT_EQ(r.sw, 0x9000);
  EXPECT_EQ(to_hex(r.data), "01020501");
}

TEST_F(AppModel, GitIsNulTerminated) {
  auto r = send(0x09, 0, 0, {});
  ASSERT_EQ(r.sw, 0x9000);
  ASSERT_FALSE(r.data.empty());
  EXPECT_EQ(r.data.back(), 0);
  EXPECT_EQ(std::string(r.data.begin(), r.data.end() - 1), "50ec8cfc");
}

TEST_F(AppModel, LengthClassAndInstructionErrors) {
  EXPECT_EQ(send(Bytes{0x80, 0x00, 0x00}).sw, 0x6C00);              // shorter than a header
  EXPECT_EQ(send(Bytes{0x80, 0x00, 0x00, 0x00, 0x02, 0x01}).sw, 0x6C00);  // Lc says 2, 1 sent
  EXPECT_EQ(send(Bytes{0x80, 0x00, 0x00, 0x00}).sw, 0x9000);        // missing Lc reads as 0
  EXPECT_EQ(send(0x02, 0, 0, Bytes(236, 0)).sw, 0x917E);              // Lc > 235
  Bytes bad_cla = apdu(0x00, 0, 0, {});
  bad_cla[0] = 0xE0;
  EXPECT_EQ(send(bad_cla).sw, 0x6E00);
  Bytes big_bad_cla = apdu(0x00, 0, 0, Bytes(240, 0));
  big_bad_cla[0] = 0xE0;
  EXPECT_EQ(send(big_bad_cla).sw, 0x917E) << "Lc is checked before CLA";
  EXPECT_EQ(send(0x05, 0, 0, {}).sw, 0x6D00);  // SIGN_UNSAFE is not in the baking app
  EXPECT_EQ(send(0x10, 0, 0, {}).sw, 0x6D00);
}

TEST_F(AppModel, ParameterAndDataErrors) {
  for (std::uint8_t ins : {0x00, 0x07, 0x08, 0x09, 0x0B, 0x0C, 0x0D}) {
    SCOPED_TRACE(ins);
    EXPECT_EQ(send(ins, 1, 0, {}).sw, 0x6B00);
    EXPECT_EQ(send(ins, 0, 1, {}).sw, 0x6B00);
    EXPECT_EQ(send(ins, 0, 0, {0x01}).sw, 0x6A80);
  }
  const Bytes path = path_bytes(kTezosPath);
  for (std::uint8_t ins : {0x01, 0x02, 0x03, 0x0A, 0x0E}) {
    SCOPED_TRACE(ins);
    EXPECT_EQ(send(ins, 1, 0, path).sw, 0x6B00);
    EXPECT_EQ(send(ins, 0, 5, path).sw, 0x6B00);
    EXPECT_EQ(send(ins, 0, 3, path).sw, 0x6B00) << "BIP32-Ed25519 is not modelled";
    EXPECT_EQ(send(ins, 0, 4, path).sw, 0x6B00) << "BLS is not modelled";
  }
  EXPECT_EQ(send(0x06, 1, 0, be32(5)).sw, 0x6B00);
  EXPECT_EQ(send(0x06, 0, 1, be32(5)).sw, 0x6B00);
}

TEST_F(AppModel, PathErrors) {
  EXPECT_EQ(send(0x02, 0, 0, {}).sw, 0x6A80);                        // no path
  EXPECT_EQ(send(0x02, 0, 0, {0x00}).sw, 0x6A80);                    // zero components
  EXPECT_EQ(send(0x02, 0, 0, path_bytes(std::vector<std::uint32_t>(11, 0x80000000))).sw, 0x6A80);
  Bytes truncated = path_bytes(kTezosPath);
  truncated.pop_back();
  EXPECT_EQ(send(0x02, 0, 0, truncated).sw, 0x6A80);
  Bytes trailing = path_bytes(kTezosPath);
  trailing.push_back(0);
  EXPECT_EQ(send(0x02, 0, 0, trailing).sw, 0x6C00);
}

TEST_F(AppModel, GetPublicKeyReplyIsLengthPrefixed) {
  auto ed = send(0x02, 0, 0, path_bytes(kTezosPath));
  ASSERT_EQ(ed.sw, 0x9000);
  ASSERT_EQ(ed.data.size(), 34u);
  EXPECT_EQ(ed.data[0], 0x21);
  EXPECT_EQ(ed.data[1], 0x02);
  auto k1 = send(0x02, 0, 1, path_bytes(kTezosPath));
  ASSERT_EQ(k1.sw, 0x9000);
  ASSERT_EQ(k1.data.size(), 66u);
  EXPECT_EQ(k1.data[0], 0x41);
  EXPECT_EQ(k1.data[1], 0x04);
}

TEST_F(AppModel, PinNotValidatedRefusesKeysButNotQueries) {
  model.set_pin_validated(false);
  EXPECT_EQ(send(0x02, 0, 0, path_bytes(kTezosPath)).sw, 0x6982);
  EXPECT_EQ(send(0x04, 0, 0, path_bytes(kTezosPath)).sw, 0x6982);
  EXPECT_EQ(send(0x08, 0, 0, {}).sw, 0x9000);
}

TEST_F(AppModel, AuthorizeStoresKeyAndRefusalKeepsTheOldOne) {
  auto r = send(0x01, 0, 1, path_bytes(kTezosPath));
  ASSERT_EQ(r.sw, 0x9000);
  EXPECT_EQ(r.data.size(), 66u);
  EXPECT_EQ(model.state().baking_key, (KeyRef{kTezosPath, 1}));
  auto q = send(0x0D, 0, 0, {});
  EXPECT_EQ(to_hex(q.data), "01048000002c800006c18000000080000000");

  model.set_prompt_answer(PromptAnswer::Refuse);
  EXPECT_EQ(send(0x01, 0, 0, path_bytes({0x8000002C, 0x800006C1, 0x80000001})).sw, 0x6985);
  EXPECT_EQ(model.state().baking_key, (KeyRef{kTezosPath, 1}));

  // Empty data re-shows the stored key, with its curve, whatever P2 says.
  model.set_prompt_answer(PromptAnswer::Approve);
  auto again = send(0x01, 0, 0, {});
  ASSERT_EQ(again.sw, 0x9000);
  EXPECT_EQ(again.data, r.data);
}

TEST_F(AppModel, SetupSetsEverythingAndClearsFlags) {
  auto r = send(0x0A, 0, 0, setup_data(kMainnet, 100, 200));
  ASSERT_EQ(r.sw, 0x9000);
  EXPECT_EQ(r.data[0], 0x21);
  const AppState& s = model.state();
  EXPECT_EQ(s.main_chain_id, kMainnet);
  EXPECT_EQ(s.main, (Watermark{100, 0, false, false}));
  EXPECT_EQ(s.test, (Watermark{200, 0, false, false}));
  EXPECT_EQ(s.baking_key, (KeyRef{kTezosPath, 0}));
  auto all = send(0x0B, 0, 0, {});
  EXPECT_EQ(to_hex(all.data), "0000006400000000000000c8000000007a06a770");
  auto main = send(0x08, 0, 0, {});
  EXPECT_EQ(to_hex(main.data), "0000006400000000");
  auto key = send(0x07, 0, 0, {});
  EXPECT_EQ(to_hex(key.data), "048000002c800006c18000000080000000");
}

TEST_F(AppModel, SetupRefusedChangesNothing) {
  model.set_prompt_answer(PromptAnswer::Refuse);
  EXPECT_EQ(send(0x0A, 0, 0, setup_data(kMainnet, 100, 200)).sw, 0x6985);
  EXPECT_EQ(model.state(), AppState{});
}

TEST_F(AppModel, SetupMalformed) {
  Bytes d = setup_data(kMainnet, 1, 2);
  EXPECT_EQ(send(0x0A, 0, 0, Bytes(d.begin(), d.begin() + 12)).sw, 0x6A80);
  d.push_back(0);
  EXPECT_EQ(send(0x0A, 0, 0, d).sw, 0x6C00);
}

TEST_F(AppModel, ResetSetsBothLevelsAndValidatesTheLevel) {
  ASSERT_EQ(send(0x0A, 0, 0, setup_data(kMainnet, 100, 200)).sw, 0x9000);
  EXPECT_EQ(send(0x06, 0, 0, be32(1u << 30)).sw, 0x6A80);
  EXPECT_EQ(send(0x06, 0, 0, {0, 0, 1}).sw, 0x6A80);
  Bytes trailing = be32(5);
  trailing.push_back(0);
  EXPECT_EQ(send(0x06, 0, 0, trailing).sw, 0x6C00);
  model.set_prompt_answer(PromptAnswer::Refuse);
  EXPECT_EQ(send(0x06, 0, 0, be32(7)).sw, 0x6985);
  EXPECT_EQ(model.state().main.level, 100u);
  model.set_prompt_answer(PromptAnswer::Approve);
  auto r = send(0x06, 0, 0, be32(7));
  EXPECT_EQ(r.sw, 0x9000);
  EXPECT_TRUE(r.data.empty());
  EXPECT_EQ(model.state().main, (Watermark{7, 0, false, false}));
  EXPECT_EQ(model.state().test, (Watermark{7, 0, false, false}));
  EXPECT_EQ(model.state().baking_key, (KeyRef{kTezosPath, 0})) << "RESET keeps the key";
}

TEST_F(AppModel, DeauthorizeClearsKeyKeepsWatermarks) {
  ASSERT_EQ(send(0x0A, 0, 0, setup_data(kMainnet, 100, 200)).sw, 0x9000);
  EXPECT_EQ(send(0x0C, 0, 0, {}).sw, 0x9000);
  EXPECT_TRUE(model.state().baking_key.path.empty());
  EXPECT_EQ(model.state().main.level, 100u);
  EXPECT_EQ(to_hex(send(0x07, 0, 0, {}).data), "00");
  EXPECT_EQ(to_hex(send(0x0D, 0, 0, {}).data), "0000");
}

TEST_F(AppModel, HmacIsDeterministicPerKeyAndMessage) {
  Bytes d = path_bytes(kTezosPath);
  d.insert(d.end(), {1, 2, 3});
  auto a = send(0x0E, 0, 0, d);
  auto b = send(0x0E, 0, 0, d);
  ASSERT_EQ(a.sw, 0x9000);
  EXPECT_EQ(a.data.size(), 32u);
  EXPECT_EQ(a.data, b.data);
  d.back() = 4;
  EXPECT_NE(send(0x0E, 0, 0, d).data, a.data);
  d.back() = 3;
  EXPECT_NE(send(0x0E, 0, 2, d).data, a.data) << "another curve is another key";
}

TEST(StateFile, RoundTripsAndMissingFileIsEmpty) {
  auto dir = std::filesystem::temp_directory_path() / ("vledger-state-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto file = dir / "nvram.json";
  auto none = load_state(file);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  AppState s;
  s.main_chain_id = kMainnet;
  s.main = Watermark{10, 2, true, false};
  s.test = Watermark{3, 0, false, true};
  s.baking_key = KeyRef{kTezosPath, 2};
  ASSERT_TRUE(save_state(file, s).ok());
  auto back = load_state(file);
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ(**back, s);
  std::filesystem::remove_all(dir);
}

TEST(ChainId, Base58AndHex) {
  EXPECT_EQ(parse_chain_id("NetXdQprcVkpaWU"), kMainnet);
  EXPECT_EQ(parse_chain_id("7a06a770"), kMainnet);
  EXPECT_EQ(parse_chain_id("NetXdQprcVkpaWV"), std::nullopt);  // checksum
  EXPECT_EQ(parse_chain_id("zz"), std::nullopt);
}
