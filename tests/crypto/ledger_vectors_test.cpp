// The Tezos Baking app's own expectations (trilitech/ledger-app-tezos-baking, test/common.py
// and the snapshot folder names of test_get_public_key_baking): seed words "zebra" x 24,
// path m/44'/1729'/0'/0'. The device's secret keys and addresses are base58check; this test
// decodes them locally and compares raw bytes, so it checks derivation against the device.
#include <gtest/gtest.h>

#include <string>

#include "pisigner/crypto/hd.hpp"
#include "test_util.hpp"

using namespace pisigner;
using namespace pisigner::crypto;
using pisigner::crypto::test::base58check_decode;

namespace {

struct LedgerAccount {
  Curve curve;
  const char* secret_key;  // edsk / spsk / p2sk from test/common.py
  const char* address;     // tz1 / tz2 / tz3 the device shows
};

const LedgerAccount kAccounts[] = {
    {Curve::Ed25519, "edsk2tUyhVvGj9B1S956ZzmaU4bC9J7t8xVBH52fkAoZL25MHEwacd", "tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E"},
    {Curve::Secp256k1, "spsk2Pfx9chqXVbz2tW7ze4gGU4RfaiK3nSva77bp69zHhFho2zTze", "tz2GB5YHqF4UzQ8GP5yUqdhY9oVWRXCY2hPU"},
    {Curve::P256, "p2sk2zPCmKo6zTSjPbDHnLiHtPAqVRFrExN3oTvKGbu3C99Jyeyura", "tz3UMNyvQeMj6mQSftW2aV2XaWd3afTAM1d5"},
};

std::string zebra_words() {
  std::string words = "zebra";
  for (int i = 1; i < 24; ++i) words += " zebra";
  return words;
}

void PrintTo(const LedgerAccount& a, std::ostream* os) { *os << a.address; }

class LedgerZebra : public ::testing::TestWithParam<LedgerAccount> {};

}  // namespace

TEST_P(LedgerZebra, DerivesTheDeviceKeyAndAddress) {
  const LedgerAccount& a = GetParam();
  auto seed = bip39_seed(zebra_words());
  auto path = parse_path("m/44'/1729'/0'/0'");
  ASSERT_TRUE(path);
  auto ext = derive_path(a.curve, seed, *path);
  ASSERT_TRUE(ext);

  // Secret keys: 4-byte prefix || 32 bytes. Addresses: 3-byte prefix || BLAKE2b-160(public key).
  auto sk = base58check_decode(a.secret_key);
  ASSERT_TRUE(sk);
  ASSERT_EQ(sk->size(), 36u);
  EXPECT_EQ(to_hex(ext->key), to_hex(ByteView(*sk).subspan(4)));

  auto addr = base58check_decode(a.address);
  ASSERT_TRUE(addr);
  ASSERT_EQ(addr->size(), 23u);
  auto key = SecretKey::from_bytes(a.curve, ext->key);
  ASSERT_TRUE(key);
  EXPECT_EQ(to_hex(blake2b_160(key->public_key())), to_hex(ByteView(*addr).subspan(3)));
}

INSTANTIATE_TEST_SUITE_P(BakingApp, LedgerZebra, ::testing::ValuesIn(kAccounts),
                         [](const auto& info) { return std::string(curve_name(info.param.curve)); });

TEST(LedgerZebra, Base58CheckDecoderRejectsACorruptedAddress) {
  // Guards the test helper itself: a one-character change must fail the checksum.
  EXPECT_TRUE(base58check_decode("tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E"));
  EXPECT_FALSE(base58check_decode("tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6F"));
}
