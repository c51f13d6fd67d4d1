// octez secret key URIs: unencrypted forms, octez's own encrypted-key vectors
// (src/lib_signer_backends/test/test_encrypted.ml, tezt client tests), round trips and failures.
#include <gtest/gtest.h>

#include <string>

#include "pisigner/crypto/hash.hpp"
#include "pisigner/tezos/base58.hpp"
#include "pisigner/tezos/keys.hpp"
#include "pisigner/tezos/secret_key.hpp"
#include "vectors.hpp"

namespace pisigner::tezos {
namespace {

using crypto::Curve;

std::string error_of(std::string_view uri, std::optional<std::string_view> pass = std::nullopt) {
  auto r = parse_secret_key(uri, pass);
  return r.ok() ? std::string("<ok>") : r.error().message;
}

// test_encrypted.ml: each encrypted key decrypts to the unencrypted key beside it. The test's
// fake prompt answers the first password of its list first, which opens all nine.
struct OctezVector {
  std::string_view sk, esk;
};
constexpr std::string_view kOctezPassword = "ahThie5H";
constexpr OctezVector kOctezVectors[] = {
    {"edsk3kMNLNdzLPbbABASDLARft8JRZ3Wpwibn8SMAb4KmuWSMJmAFd",
     "edesk1oGXxunJ5FTGpQ6o1xdop8VGKdT36Fj7LwWF9HLjzEqaCC4V6tdRVN1jaeJTfCHS8bYf7U2YhMK2yW6jSUy"},
    {"edsk3Kqr8VHRx9kmR8Pj5qRGcmvQH34cForiMaMz1Ahhq5DkZp7FxJ",
     "edesk1s4xEifbUdUkghHHimbNUuyQ4eidDVJdc8JtPRUon758hBqZNZsQxadUDFRSRiUdLoFqBG35HAiLKafyczw"},
    {"edsk2mBu4w9sMGhryvvXK53dXgpcNdZWi8pJQ1QL2rAgRPrE5y12az",
     "edesk1zY5jEs4QXrF9tXxFq1mfW9PkatdRxCKQ2Q598y5LLz65nQj4eWxefYFp8YLerya1haRdGe5NWckHDb5ApM"},
    {"spsk24attf9uuQ7PUKFHxTm6E3TMqB6SPkFiMbXPBur7JNrvupW2xg",
     "spesk2CXQHDbzrcNatRzmg83Dto6kX6BWwpP2zGs4Zks9LDsXzaX6mAYRj5ZrrdgyZQap4DS9YRRLNSpaVC2TSsk"},
    {"spsk2H32XfWL7MkW58r76q6Yu5tJg77YGgVyjwq7EvLUHhn4JmAtEG",
     "spesk1upiFp23osWSUTgHcx8DCVpTrMr9xtdqVQkQDWj5sFG7vqcWLDaNv9AKKcF27Nb266YfuAGF2hEbcyAxHmK"},
    {"spsk3KQ56REAUGc6Gn87xCRnWyPwR2Un667vegQVuU16ZcgNyLCooh",
     "spesk1w7d68hzTWJusk5Xn5oz8EgDXbotDW9BXb5ksFjr8Jd94Kxnu5yKAhgRszojhMUoJ1EEt5BtPpGpkgCjELq"},
    {"p2sk2YQcwF5h7qgRztocEMrfizUwZaM41f4v7zWneiig2Y5AxajqYC",
     "p2esk2JMFpR9yaSpgsaKQYLqFnv16t4gowJ4cgjj7D7iMfoaJz2vZuH7Tdi11MrX6FC2yhfs2nvy5VRxAvzH1STE"},
    {"p2sk2XiSoQC9tvejVBDJyvkbHUq2kvcQHdJJ2wM8rii228DkjKV2b5",
     "p2esk1nfobVL73mY5Y18W8Ltb3Vm6Nf5Th7trN3yA3ucyyP4AH93XfyRatkh9AxxaDtnju1EtArykjroEQHDT97k"},
    {"p2sk3ZsfsEaxDNn74orv91Ruu35fomzF373aT9ForA4fDo54c47o6H",
     "p2esk2Ge1jrVak7NhxksimzaQjRCTLx5vxUZ4Akgq3spGQLx6N41h6aKXeEYDgxN5eztnPwD6QiCHCfVAKXLPNm8"},
};

TEST(SecretKey, OctezEncryptedVectorsDecryptToTheirPlainKeys) {
  for (const auto& v : kOctezVectors) {
    auto plain = parse_secret_key("unencrypted:" + std::string(v.sk));
    ASSERT_TRUE(plain.ok()) << v.sk << ": " << plain.error().message;
    auto decrypted = parse_secret_key("encrypted:" + std::string(v.esk), kOctezPassword);
    ASSERT_TRUE(decrypted.ok()) << v.esk << ": " << decrypted.error().message;
    EXPECT_EQ(decrypted->curve(), plain->curve());
    EXPECT_EQ(decrypted->public_key(), plain->public_key());
    EXPECT_EQ(encode_secret_key(*decrypted), "unencrypted:" + std::string(v.sk));
  }
}

TEST(SecretKey, TeztEncryptedAccountOpensWithItsPassword) {
  // tezt/tests/client_simulation_flag.ml: imported with password "password".
  constexpr std::string_view esk =
      "encrypted:edesk1n2uGpPtVaeyhWkZzTEcaPRzkQHrqkw5pk8VkZvp3rM5KSc3mYNH5cJEuNcfB91B3G3JakKzfLQSmrgF4ht";
  auto key = parse_secret_key(esk, "password");
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->curve(), Curve::Ed25519);
  EXPECT_EQ(error_of(esk, "Password"), "wrong passphrase or corrupt encrypted key");
  EXPECT_EQ(error_of(esk, ""), "wrong passphrase or corrupt encrypted key");
  EXPECT_EQ(error_of(esk), "encrypted key needs a passphrase");
}

TEST(SecretKey, EncryptThenParseRoundTripsForEveryCurve) {
  for (Curve c : {Curve::Ed25519, Curve::Secp256k1, Curve::P256}) {
    auto key = crypto::SecretKey::generate(c);
    const std::string a = encrypt_secret_key(key, "correct horse");
    const std::string b = encrypt_secret_key(key, "correct horse");
    EXPECT_NE(a, b) << "each encryption draws a fresh salt";
    const std::string_view expected_prefix = c == Curve::Ed25519 ? "encrypted:edesk"
                                             : c == Curve::Secp256k1 ? "encrypted:spesk"
                                                                     : "encrypted:p2esk";
    EXPECT_EQ(a.substr(0, expected_prefix.size()), expected_prefix);
    EXPECT_EQ(a.size(), std::string_view("encrypted:").size() + 88);
    for (const auto& uri : {a, b}) {
      auto back = parse_secret_key(uri, "correct horse");
      ASSERT_TRUE(back.ok()) << back.error().message;
      EXPECT_EQ(back->curve(), c);
      EXPECT_EQ(back->public_key(), key.public_key());
      EXPECT_EQ(error_of(uri, "correct horse "), "wrong passphrase or corrupt encrypted key");
    }
  }
}

TEST(SecretKey, CorruptCiphertextIsRejected) {
  auto key = crypto::SecretKey::generate(Curve::Ed25519);
  const std::string uri = encrypt_secret_key(key, "pw");
  Bytes payload = b58check_decode(Prefix::Edesk, std::string_view(uri).substr(10)).value();
  for (std::size_t i : {std::size_t{0}, std::size_t{8}, std::size_t{30}, payload.size() - 1}) {
    Bytes bad = payload;
    bad[i] ^= 0x01;  // salt, MAC or ciphertext
    EXPECT_EQ(error_of("encrypted:" + b58check_encode(Prefix::Edesk, bad), "pw"),
              "wrong passphrase or corrupt encrypted key")
        << "byte " << i;
  }
}

TEST(SecretKey, UnencryptedFormsWithAndWithoutScheme) {
  auto with = parse_secret_key("unencrypted:" + std::string(test::kBootstrap1.sk));
  auto without = parse_secret_key(test::kBootstrap1.sk);
  ASSERT_TRUE(with.ok());
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(with->public_key(), without->public_key());
  EXPECT_EQ(PublicKey::from_raw(Curve::Ed25519, with->public_key())->to_b58(), test::kBootstrap1.pk);
  EXPECT_EQ(encode_secret_key(*with), "unencrypted:" + std::string(test::kBootstrap1.sk));
}

TEST(SecretKey, SixtyFourByteEd25519FormIsSeedAndPublicKey) {
  // taquito-signer.spec.ts: the same key in both edsk forms.
  auto long_form = parse_secret_key(
      "edskS8rh49SrQHQxMu5sVsyRXX3Kaodfgbk8qqtTFjxSg2tJbLEtbMnimfJzSz7TTZQeP7EMhZoegHbQWa548RcXJP9kn2J8P8");
  ASSERT_TRUE(long_form.ok()) << long_form.error().message;
  EXPECT_EQ(PublicKey::from_raw(Curve::Ed25519, long_form->public_key())->to_b58(),
            "edpkuhmrbunxumoiVdQuxBZUPMmwkPt7yLtY5Qnua3VJVTLWr3vXXa");
  EXPECT_EQ(encode_secret_key(*long_form), "unencrypted:edsk4TjJWEszkHKono7XMnepVqwi37FrpbVt1KCsifJeAGimxheShG");

  // A seed paired with another key's public half is refused.
  Bytes mixed = b58check_decode(Prefix::Edsk, test::kBootstrap1.sk).value();
  Bytes other_pk = PublicKey::parse(test::kBootstrap2.pk)->key;
  mixed.insert(mixed.end(), other_pk.begin(), other_pk.end());
  EXPECT_EQ(error_of(b58check_encode(Prefix::EdskLong, mixed)),
            "edsk (64-byte form): public key half does not match the seed");
}

TEST(SecretKey, BlsKeysAreRefusedClearly) {
  EXPECT_EQ(error_of("unencrypted:BLsk1hKAHyGqY9qRbgoSVnjiSmDWpKGjFF3WNQ7BaiaMUA6RMA6Pfq"),
            "BLS (tz4) soft keys are not supported");
  EXPECT_EQ(error_of("encrypted:" + b58check_encode(Prefix::BLesk, Bytes(56, 7)), "pw"),
            "BLS (tz4) soft keys are not supported");
}

TEST(SecretKey, MalformedUrisNameTheProblem) {
  const std::string sk(test::kBootstrap1.sk);
  EXPECT_EQ(error_of("ledger://tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx/ed25519/0h/0h"),
            "unsupported secret key scheme (expected unencrypted: or encrypted:)");
  EXPECT_EQ(error_of("encrypted:" + sk, "pw"), "not an encrypted secret key");
  EXPECT_EQ(error_of("unencrypted:" + std::string(kOctezVectors[0].esk)),
            "an encrypted key needs the encrypted: scheme");
  EXPECT_EQ(error_of(test::kBootstrap1.pk), "unknown secret key prefix");
  std::string flipped = sk;
  flipped[10] = flipped[10] == 'a' ? 'b' : 'a';
  EXPECT_EQ(error_of(flipped), "invalid base58check checksum");
  EXPECT_EQ(error_of("unencrypted:" + b58check_encode(Prefix::Spsk, Bytes(32, 0))), "invalid secp256k1 secret key");
  EXPECT_EQ(error_of("unencrypted:" + b58check_encode(Prefix::P2sk, Bytes(32, 0xff))), "invalid p256 secret key");
}

TEST(SecretKey, ErrorMessagesNeverCarryTheKey) {
  const std::string sk(test::kBootstrap1.sk);
  const std::string seed_hex = to_hex(b58check_decode(Prefix::Edsk, sk).value());
  std::string flipped = sk;
  flipped[20] = flipped[20] == 'a' ? 'b' : 'a';
  const std::string esk(kOctezVectors[0].esk);
  for (const auto& [uri, pass] : {std::pair<std::string, std::optional<std::string_view>>{flipped, std::nullopt},
                                  {sk + ":" + sk, std::nullopt},
                                  {"encrypted:" + sk, "pw"},
                                  {"encrypted:" + esk, "wrong"},
                                  {"encrypted:" + esk, std::nullopt}}) {
    const std::string msg = error_of(uri, pass);
    ASSERT_NE(msg, "<ok>") << uri;
    EXPECT_EQ(msg.find(sk.substr(4, 16)), std::string::npos) << msg;
    EXPECT_EQ(msg.find(esk.substr(5, 16)), std::string::npos) << msg;
    EXPECT_EQ(msg.find(seed_hex.substr(0, 16)), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace pisigner::tezos
