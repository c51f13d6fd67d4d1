#include "pisigner/crypto/hash.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace pisigner;
using namespace pisigner::crypto;
using pisigner::crypto::test::as_bytes;
using pisigner::crypto::test::hex;

TEST(Blake2b, Rfc7693AbcVector) {
  EXPECT_EQ(to_hex(blake2b(as_bytes("abc"), 64)),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
            "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
}

TEST(Blake2b, TezosDigestOfOneByteMessage) {
  // What a Tezos signer hashes before signing the payload 0x03.
  EXPECT_EQ(to_hex(blake2b_256(hex("03"))), "e88bd757ad5b9bedf372d8d3f0cf6c962a469db61a265f6418e1ffed86da29ec");
}

TEST(Blake2b, FixedSizeVariantsMatchTheGenericOne) {
  // Output length is a BLAKE2b parameter, so a 20-byte digest is not a prefix of the 32-byte one.
  Bytes msg = hex("4798d2cc98473d7e250c898885718afd2e4efbcb1a1595ab9730761ed830de0f");
  auto h160 = blake2b_160(msg);
  auto h256 = blake2b_256(msg);
  EXPECT_EQ(Bytes(h160.begin(), h160.end()), blake2b(msg, 20));
  EXPECT_EQ(Bytes(h256.begin(), h256.end()), blake2b(msg, 32));
  EXPECT_NE(to_hex(h160), to_hex(h256).substr(0, 40));
  EXPECT_EQ(blake2b(msg, 1).size(), 1u);
}

TEST(Sha256, AbcAndDouble) {
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Digest32 once = sha256(as_bytes("abc"));
  EXPECT_EQ(sha256d(as_bytes("abc")), sha256(once));
}

TEST(Hmac, Rfc4231Case2) {
  auto key = as_bytes("Jefe");
  auto data = as_bytes("what do ya want for nothing?");
  EXPECT_EQ(to_hex(hmac_sha256(key, data)), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(to_hex(hmac_sha512(key, data)),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
}
