#include <gtest/gtest.h>

#include "pisigner/crypto/hd.hpp"
#include "test_util.hpp"

using namespace pisigner;
using namespace pisigner::crypto;

TEST(Path, ParsesTheTezosPath) {
  auto p = parse_path("m/44'/1729'/0'/0'");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (std::vector<std::uint32_t>{0x8000002C, 0x800006C1, 0x80000000, 0x80000000}));
  auto h = parse_path("m/44h/1729h/0h/0h");
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, *p);
  EXPECT_EQ(format_path(*p), "m/44'/1729'/0'/0'");
}

TEST(Path, MixedAndEmptyPaths) {
  auto p = parse_path("m/0/2147483647'/1/2147483646h/2");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (std::vector<std::uint32_t>{0, 0xFFFFFFFF, 1, 0xFFFFFFFE, 2}));
  EXPECT_EQ(format_path(*p), "m/0/2147483647'/1/2147483646'/2");
  auto m = parse_path("m");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->empty());
  EXPECT_EQ(format_path({}), "m");
}

TEST(Path, RejectsMalformedPaths) {
  for (const char* bad : {"", "44'/1729'", "/44'", "m/", "m//0'", "m/44'/", "m/2147483648", "m/2147483648'",
                          "m/4294967296", "m/-1", "m/+1", "m/1x", "m/ 1", "m/1''", "m/'", "M/44'", "m44'",
                          "m/0/1/2/3/4/5/6/7/8/9/10"}) {
    EXPECT_FALSE(parse_path(bad)) << bad;
  }
  EXPECT_TRUE(parse_path("m/0/1/2/3/4/5/6/7/8/9"));  // exactly 10 components
}

TEST(Bip39, TrezorVector) {
  // trezor/python-mnemonic vectors.json, first English entry (passphrase "TREZOR").
  auto seed = bip39_seed(
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about", "TREZOR");
  EXPECT_EQ(to_hex(seed),
            "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04");
}

TEST(Bip39, PassphraseChangesTheSeed) {
  const char* words = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
  EXPECT_NE(bip39_seed(words), bip39_seed(words, "TREZOR"));
  EXPECT_EQ(bip39_seed(words), bip39_seed(words, ""));
}
