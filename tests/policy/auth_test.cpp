// octez request authentication (reference/octez-signer.md §3) against §11 vector 7:
// bootstrap2 is the authorized key; bootstrap1 is the signing key.
#include "pisigner/policy/auth.hpp"

#include <gtest/gtest.h>

#include "pisigner/crypto/hash.hpp"
#include "signer_fixtures.hpp"

namespace pisigner::policy {
namespace {

using test::hex;
using Code = AuthError::Code;

Authenticator bootstrap2_only() {
  return Authenticator::build(true, {std::string(test::kB2Pk)}).value();
}

// A signature of the authentication bytes for (signer, payload) made with `sk`.
std::string auth_signature(std::string_view sk, std::string_view signer, ByteView payload) {
  auto key = test::soft_key(sk);
  const Bytes msg = Authenticator::signed_bytes(test::pkh(signer), payload);
  return key->sign(msg, crypto::blake2b_256(msg)).value().to_b58();
}

TEST(Auth, SignedBytesFollowTheOctezLayout) {
  EXPECT_EQ(to_hex(Authenticator::signed_bytes(test::pkh(test::kB1Pkh), hex("03"))),
            "04010002298c03ed7d454a101eb7022bc95f7e5f41ac7803");
  const Bytes att = hex(test::kAttestationHex);
  const Bytes msg = Authenticator::signed_bytes(test::pkh(test::kB1Pkh), att);
  EXPECT_EQ(msg.size(), 103u);
  EXPECT_EQ(to_hex(ByteView(msg).first(23)), "04010002298c03ed7d454a101eb7022bc95f7e5f41ac78");
}

TEST(Auth, ReferenceVectorsVerify) {
  const auto a = bootstrap2_only();
  EXPECT_TRUE(a.check(test::pkh(test::kB1Pkh), hex("03"), std::string(test::kAuth03ByB2)).ok());
  EXPECT_TRUE(a.check(test::pkh(test::kB1Pkh), hex(test::kAttestationHex), std::string(test::kAuthAttestationByB2)).ok());
}

TEST(Auth, GenericSigEncodingOfAValidSignatureIsAccepted) {
  const auto a = bootstrap2_only();
  const auto generic = tezos::Signature::parse(test::kAuth03ByB2).value().to_generic_b58();
  ASSERT_EQ(generic.rfind("sig", 0), 0u);
  EXPECT_TRUE(a.check(test::pkh(test::kB1Pkh), hex("03"), generic).ok());
}

TEST(Auth, FlippedPayloadByteIsInvalid) {
  const auto a = bootstrap2_only();
  Bytes att = hex(test::kAttestationHex);
  for (std::size_t i : {std::size_t{0}, std::size_t{5}, std::size_t{40}, att.size() - 1}) {
    Bytes tampered = att;
    tampered[i] ^= 0x01;
    auto r = a.check(test::pkh(test::kB1Pkh), tampered, std::string(test::kAuthAttestationByB2));
    ASSERT_FALSE(r.ok()) << "byte " << i;
    EXPECT_EQ(r.error().code, Code::Invalid);
    EXPECT_EQ(r.error().message, "invalid authentication signature");
  }
}

TEST(Auth, FlippedSignatureByteIsInvalid) {
  const auto a = bootstrap2_only();
  auto sig = tezos::Signature::parse(test::kAuth03ByB2).value();
  for (std::size_t i : {std::size_t{0}, std::size_t{31}, std::size_t{63}}) {
    auto bad = sig;
    bad.raw[i] ^= 0x80;
    auto r = a.check(test::pkh(test::kB1Pkh), hex("03"), bad.to_b58());
    ASSERT_FALSE(r.ok()) << "byte " << i;
    EXPECT_EQ(r.error().message, "invalid authentication signature");
  }
}

TEST(Auth, SignatureForAnotherPayloadOrSignerIsInvalid) {
  const auto a = bootstrap2_only();
  EXPECT_EQ(a.check(test::pkh(test::kB1Pkh), hex(test::kAttestationHex), std::string(test::kAuth03ByB2)).error().message,
            "invalid authentication signature");
  // Same payload, but the request names bootstrap2 as the signing key: the pkh is part of the signed bytes.
  EXPECT_EQ(a.check(test::pkh(test::kB2Pkh), hex("03"), std::string(test::kAuth03ByB2)).error().message,
            "invalid authentication signature");
}

TEST(Auth, SignatureByAnUnauthorizedKeyIsInvalid) {
  const auto a = bootstrap2_only();
  const std::string by_b1 = auth_signature(test::kB1Sk, test::kB1Pkh, hex("03"));
  auto r = a.check(test::pkh(test::kB1Pkh), hex("03"), by_b1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::Invalid);
  EXPECT_EQ(r.error().message, "invalid authentication signature");
  // The same bytes signed by bootstrap2 pass: the refusal above is about the key, not the bytes.
  EXPECT_EQ(auth_signature(test::kB2Sk, test::kB1Pkh, hex("03")), test::kAuth03ByB2);
}

TEST(Auth, AnyAuthorizedKeyMayAuthenticate) {
  const auto a = Authenticator::build(true, {std::string(test::kB1Pk), std::string(test::kB2Pk)}).value();
  EXPECT_TRUE(a.check(test::pkh(test::kB1Pkh), hex("03"), std::string(test::kAuth03ByB2)).ok());
  EXPECT_TRUE(a.check(test::pkh(test::kB1Pkh), hex("03"), auth_signature(test::kB1Sk, test::kB1Pkh, hex("03"))).ok());
}

TEST(Auth, GarbageBase58IsInvalid) {
  const auto a = bootstrap2_only();
  for (const std::string& g : std::vector<std::string>{"edsigXXXXXXXX", "hello", "0000", std::string(test::kB2Pk), std::string(test::kB1Pkh),
                        std::string(test::kAuth03ByB2).substr(0, 50)}) {
    auto r = a.check(test::pkh(test::kB1Pkh), hex("03"), g);
    ASSERT_FALSE(r.ok()) << g;
    EXPECT_EQ(r.error().code, Code::Invalid);
    EXPECT_EQ(r.error().message, "invalid authentication signature") << g;
  }
}

TEST(Auth, MissingFieldHasItsOwnMessage) {
  const auto a = bootstrap2_only();
  auto r = a.check(test::pkh(test::kB1Pkh), hex("03"), std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::Missing);
  EXPECT_EQ(r.error().message, "missing authentication signature field");
}

TEST(Auth, NotRequiredIgnoresTheField) {
  const auto a = Authenticator::build(false, {std::string(test::kB2Pk)}).value();
  EXPECT_FALSE(a.required());
  EXPECT_TRUE(a.check(test::pkh(test::kB1Pkh), hex("03"), std::nullopt).ok());
  EXPECT_TRUE(a.check(test::pkh(test::kB1Pkh), hex("03"), std::string("garbage")).ok());
}

TEST(Auth, AuthorizedPkhsAreTheHashesOfTheKeys) {
  const auto a = bootstrap2_only();
  const auto pkhs = a.authorized_pkhs();
  ASSERT_EQ(pkhs.size(), 1u);
  EXPECT_EQ(pkhs[0].to_b58(), test::kB2Pkh);
}

TEST(Auth, BuildRejectsRequiredWithoutKeys) {
  auto r = Authenticator::build(true, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::Config);
  EXPECT_TRUE(Authenticator::build(false, {}).ok());
}

TEST(Auth, BuildNamesTheFirstBadKey) {
  for (const std::string& bad : std::vector<std::string>{"edpkXXXX", std::string(test::kB2Pkh), std::string(test::kB2Sk), ""}) {
    auto r = Authenticator::build(true, {std::string(test::kB1Pk), bad, "also-bad"});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Code::Config);
    EXPECT_NE(r.error().message.find("'" + bad + "'"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("also-bad"), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace pisigner::policy
