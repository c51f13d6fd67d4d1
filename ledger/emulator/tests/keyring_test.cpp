// The virtual Ledger derives the device's keys from the Ledger test seed and replies in
// the device's formats (values from trilitech/ledger-app-tezos-baking test/common.py).
#include "pisigner/ledger/emulator/keyring.hpp"

#include <gtest/gtest.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <set>

#include "pisigner/crypto/signing.hpp"
#include "test_util.hpp"

using namespace pisigner;
using namespace pisigner::ledger::emulator;
using namespace vledger_test;

namespace {

struct Account {
  std::uint8_t curve;
  crypto::Curve crypto_curve;
  std::vector<std::uint32_t> path;
  const char* address;
  const char* secret;  // the test suite's secret key for the same account
};

const std::vector<Account> kAccounts = {
    {0, crypto::Curve::Ed25519, kTezosPath, "tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E",
     "edsk2tUyhVvGj9B1S956ZzmaU4bC9J7t8xVBH52fkAoZL25MHEwacd"},
    {1, crypto::Curve::Secp256k1, kTezosPath, "tz2GB5YHqF4UzQ8GP5yUqdhY9oVWRXCY2hPU",
     "spsk2Pfx9chqXVbz2tW7ze4gGU4RfaiK3nSva77bp69zHhFho2zTze"},
    {2, crypto::Curve::P256, kTezosPath, "tz3UMNyvQeMj6mQSftW2aV2XaWd3afTAM1d5",
     "p2sk2zPCmKo6zTSjPbDHnLiHtPAqVRFrExN3oTvKGbu3C99Jyeyura"},
    {0, crypto::Curve::Ed25519, {0x80000009, 0x8000000C, 0x8000000D, 0x80000008, 0x8000004E},
     "tz1ez9eEyAxuDZACjHdCXym43UQDdMNa3LEL", "edsk3eZBgFAf1VtdibfxoCcihxXje9S3th7jdEgVA2kHG82EKYNKNm"},
};

// The key Tezos hashes: the raw Ed25519 key, or the compressed SEC1 point.
Bytes tezos_key(const Account& a, const Bytes& reply_key) {
  if (a.curve == 0) return Bytes(reply_key.begin() + 1, reply_key.end());
  auto c = crypto::compress_point(a.crypto_curve, reply_key);
  EXPECT_TRUE(c.ok());
  return c.ok() ? *c : Bytes{};
}

const Keyring& zebra() {
  static const Keyring k = Keyring::from_mnemonic(kTestMnemonic);
  return k;
}

}  // namespace

TEST(Keyring, ZebraSeedGivesTheAppTestSuiteAddresses) {
  for (const auto& a : kAccounts) {
    SCOPED_TRACE(a.address);
    auto pk = zebra().public_key(a.curve, a.path);
    ASSERT_TRUE(pk.ok());
    auto addr = base58check_decode(a.address);
    ASSERT_TRUE(addr && addr->size() == 23);
    auto pkh = crypto::blake2b_160(tezos_key(a, *pk));
    EXPECT_EQ(to_hex(pkh), to_hex(ByteView(*addr).subspan(3)));
  }
}

TEST(Keyring, PublicKeysMatchTheTestSuiteSecretKeys) {
  for (const auto& a : kAccounts) {
    SCOPED_TRACE(a.secret);
    auto sk_bytes = base58check_decode(a.secret);
    ASSERT_TRUE(sk_bytes && sk_bytes->size() == 36);
    auto sk = crypto::SecretKey::from_bytes(a.crypto_curve, ByteView(*sk_bytes).subspan(4));
    ASSERT_TRUE(sk.ok());
    auto pk = zebra().public_key(a.curve, a.path);
    ASSERT_TRUE(pk.ok());
    EXPECT_EQ(to_hex(tezos_key(a, *pk)), to_hex(sk->public_key()));
  }
}

TEST(Keyring, PublicKeyFormatsAreTheDevices) {
  auto ed = zebra().public_key(0, kTezosPath);
  ASSERT_TRUE(ed.ok());
  EXPECT_EQ(ed->size(), 33u);
  EXPECT_EQ((*ed)[0], 0x02);
  for (std::uint8_t curve : {1, 2}) {
    auto pk = zebra().public_key(curve, kTezosPath);
    ASSERT_TRUE(pk.ok());
    EXPECT_EQ(pk->size(), 65u);
    EXPECT_EQ((*pk)[0], 0x04);
  }
}

TEST(Keyring, UnmodelledCurvesAreWrongParam) {
  for (std::uint8_t curve : {3, 4, 5}) {
    auto pk = zebra().public_key(curve, kTezosPath);
    ASSERT_FALSE(pk.ok());
    EXPECT_EQ(pk.error().sw, 0x6B00);
  }
}

TEST(Keyring, NonHardenedEd25519ComponentIsACryptoError) {
  auto pk = zebra().public_key(0, {0x8000002C, 0x800006C1, 0});
  ASSERT_FALSE(pk.ok());
  EXPECT_EQ(pk.error().sw, 0x9001);
}

TEST(Keyring, RawSeedMustBe64Bytes) {
  EXPECT_FALSE(Keyring::from_seed(Bytes(32, 1)).ok());
  EXPECT_TRUE(Keyring::from_seed(Bytes(64, 1)).ok());
}

TEST(Keyring, Ed25519SignaturesVerify) {
  auto pk = zebra().public_key(0, kTezosPath);
  ASSERT_TRUE(pk.ok());
  auto digest = crypto::blake2b_256(block(kMainnet, 5, 0));
  auto sig = zebra().sign_hash(0, kTezosPath, digest);
  ASSERT_TRUE(sig.ok());
  ASSERT_EQ(sig->size(), 64u);
  EXPECT_TRUE(crypto::verify_digest(crypto::Curve::Ed25519, ByteView(*pk).subspan(1), digest, *sig));
  digest[0] ^= 1;
  EXPECT_FALSE(crypto::verify_digest(crypto::Curve::Ed25519, ByteView(*pk).subspan(1), digest, *sig));
}

// The Baking app signs ECDSA with CX_RND_RFC6979 (keys.c, sign()): the same hash gives the same
// signature on every device with the seed, so a re-sign after a lost signature is identical.
TEST(Keyring, EcdsaSignaturesAreDeterministicLikeTheApp) {
  for (const auto& a : {kAccounts[1], kAccounts[2]}) {
    SCOPED_TRACE(a.address);
    const Keyring one = Keyring::from_mnemonic(kTestMnemonic);
    const Keyring two = Keyring::from_mnemonic(kTestMnemonic);  // the standby Pi's Ledger
    for (std::uint32_t level = 1; level <= 8; ++level) {
      auto digest = crypto::blake2b_256(block(kMainnet, level, 0));
      auto first = one.sign_hash(a.curve, a.path, digest);
      ASSERT_TRUE(first.ok());
      EXPECT_EQ(to_hex(*one.sign_hash(a.curve, a.path, digest)), to_hex(*first));
      EXPECT_EQ(to_hex(*two.sign_hash(a.curve, a.path, digest)), to_hex(*first));
    }
  }
}

TEST(Keyring, EcdsaSignaturesAreDerWithParityAndVerify) {
  for (const auto& a : {kAccounts[1], kAccounts[2]}) {
    SCOPED_TRACE(a.address);
    auto pk = zebra().public_key(a.curve, a.path);
    ASSERT_TRUE(pk.ok());
    const Bytes compressed = tezos_key(a, *pk);
    std::set<int> parities;
    for (std::uint32_t level = 1; level <= 24; ++level) {
      auto digest = crypto::blake2b_256(attestation(kMainnet, level, 0));
      auto sig = zebra().sign_hash(a.curve, a.path, digest);
      ASSERT_TRUE(sig.ok());
      Bytes der = *sig;
      ASSERT_TRUE(der[0] == 0x30 || der[0] == 0x31);
      ASSERT_EQ(der[1], der.size() - 2);
      const int parity = der[0] & 1;
      parities.insert(parity);
      der[0] &= 0xFE;
      auto rs = crypto::der_to_compact(a.crypto_curve, der);
      ASSERT_TRUE(rs.ok());
      EXPECT_TRUE(crypto::verify_digest(a.crypto_curve, compressed, digest, *rs));
      if (a.crypto_curve == crypto::Curve::Secp256k1) {
        // The parity bit is R's y parity: with it as recovery id the public key comes back.
        secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_VERIFY);
        secp256k1_ecdsa_recoverable_signature rsig;
        secp256k1_pubkey recovered;
        ASSERT_TRUE(secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, rs->data(), parity));
        ASSERT_TRUE(secp256k1_ecdsa_recover(ctx, &recovered, &rsig, digest.data()));
        std::uint8_t out[33];
        std::size_t len = sizeof out;
        secp256k1_ec_pubkey_serialize(ctx, out, &len, &recovered, SECP256K1_EC_COMPRESSED);
        secp256k1_context_destroy(ctx);
        EXPECT_EQ(to_hex(ByteView(out, len)), to_hex(compressed));
      }
    }
    EXPECT_EQ(parities.size(), 2u) << "24 signatures should show both R parities";
  }
}
