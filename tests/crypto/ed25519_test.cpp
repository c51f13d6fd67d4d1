#include <gtest/gtest.h>

#include "pisigner/crypto/signing.hpp"
#include "test_util.hpp"

using namespace pisigner;
using namespace pisigner::crypto;
using pisigner::crypto::test::hex;

TEST(Ed25519, Rfc8032Test1PublicKey) {
  auto key = SecretKey::from_bytes(Curve::Ed25519, hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(key);
  EXPECT_EQ(key->curve(), Curve::Ed25519);
  EXPECT_EQ(to_hex(key->public_key()), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
}

TEST(Ed25519, Bootstrap1KeyAndHash) {
  // The sandbox "bootstrap1" account: seed -> public key -> the 20-byte hash inside its tz1 address.
  Bytes seed = hex("8500c86780141917fcd8ac6a54a43a9eeda1aba9d263ce5dec5a1d0e5df1e598");
  auto key = SecretKey::from_bytes(Curve::Ed25519, seed);
  ASSERT_TRUE(key);
  EXPECT_EQ(to_hex(key->public_key()), "4798d2cc98473d7e250c898885718afd2e4efbcb1a1595ab9730761ed830de0f");
  EXPECT_EQ(to_hex(blake2b_160(key->public_key())), "02298c03ed7d454a101eb7022bc95f7e5f41ac78");
  EXPECT_EQ(Bytes(key->secret_bytes().begin(), key->secret_bytes().end()), seed);
}

TEST(Ed25519, SignsTheDigestDeterministicallyAndVerifies) {
  auto key = SecretKey::from_bytes(Curve::Ed25519, hex("8500c86780141917fcd8ac6a54a43a9eeda1aba9d263ce5dec5a1d0e5df1e598"));
  ASSERT_TRUE(key);
  Digest32 digest = blake2b_256(hex("03"));
  Signature64 sig = key->sign_digest(digest);
  EXPECT_EQ(sig, key->sign_digest(digest));  // RFC 8032 signatures are deterministic
  EXPECT_TRUE(verify_digest(Curve::Ed25519, key->public_key(), digest, sig));

  Digest32 other = digest;
  other[31] ^= 1;
  EXPECT_FALSE(verify_digest(Curve::Ed25519, key->public_key(), other, sig));
  Signature64 bad = sig;
  bad[10] ^= 0x40;
  EXPECT_FALSE(verify_digest(Curve::Ed25519, key->public_key(), digest, bad));
  EXPECT_FALSE(verify_digest(Curve::Ed25519, ByteView(key->public_key()).first(31), digest, sig));
  EXPECT_FALSE(verify_digest(Curve::Ed25519, key->public_key(), digest, ByteView(sig).first(63)));
}

TEST(Ed25519, RejectsWrongLengthsAndBls) {
  EXPECT_FALSE(SecretKey::from_bytes(Curve::Ed25519, Bytes(31, 1)));
  EXPECT_FALSE(SecretKey::from_bytes(Curve::Ed25519, Bytes(33, 1)));
  EXPECT_FALSE(SecretKey::from_bytes(Curve::Ed25519, Bytes(64, 1)));
  EXPECT_FALSE(SecretKey::from_bytes(Curve::Bls12_381, Bytes(32, 1)));
}

TEST(Ed25519, GeneratedKeysDifferAndWork) {
  SecretKey a = SecretKey::generate(Curve::Ed25519);
  SecretKey b = SecretKey::generate(Curve::Ed25519);
  EXPECT_NE(a.public_key(), b.public_key());
  Digest32 d = blake2b_256(hex("11"));
  EXPECT_TRUE(verify_digest(Curve::Ed25519, a.public_key(), d, a.sign_digest(d)));
  EXPECT_FALSE(verify_digest(Curve::Ed25519, b.public_key(), d, a.sign_digest(d)));
}

TEST(SecretKey, MoveKeepsTheKey) {
  SecretKey a = SecretKey::generate(Curve::Ed25519);
  Bytes pk = a.public_key();
  SecretKey b = std::move(a);
  EXPECT_EQ(b.public_key(), pk);
  SecretKey c = SecretKey::generate(Curve::P256);
  c = std::move(b);
  EXPECT_EQ(c.curve(), Curve::Ed25519);
  EXPECT_EQ(c.public_key(), pk);
}

TEST(Curve, Names) {
  EXPECT_EQ(curve_name(Curve::Ed25519), "ed25519");
  EXPECT_EQ(curve_name(Curve::Secp256k1), "secp256k1");
  EXPECT_EQ(curve_name(Curve::P256), "p256");
  EXPECT_EQ(curve_name(Curve::Bls12_381), "bls12_381");
}
