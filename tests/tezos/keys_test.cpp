// Keys, hashes, signatures and chain ids against published vectors
// (reference/octez-signer.md §11: tezt accounts, lib_crypto key_encoding_vectors.ml, Taquito, Signatory).
#include <gtest/gtest.h>

#include "pisigner/crypto/hash.hpp"
#include "pisigner/tezos/base58.hpp"
#include "pisigner/tezos/keys.hpp"
#include "pisigner/tezos/secret_key.hpp"
#include "vectors.hpp"

namespace pisigner::tezos {
namespace {

using crypto::Curve;
using test::hex;

PublicKey public_key_of(std::string_view sk) {
  auto key = parse_secret_key(sk);
  EXPECT_TRUE(key.ok()) << (key.ok() ? "" : key.error().message);
  auto pk = PublicKey::from_raw(key->curve(), key->public_key());
  EXPECT_TRUE(pk.ok());
  return *pk;
}

Signature sign(std::string_view sk, ByteView payload) {
  auto key = parse_secret_key(sk);
  EXPECT_TRUE(key.ok());
  auto raw = key->sign_digest(crypto::blake2b_256(payload));
  return Signature{key->curve(), Bytes(raw.begin(), raw.end())};
}

TEST(Keys, BootstrapAccountsDeriveTheirPublishedKeysAndHashes) {
  for (const auto& acc : {test::kBootstrap1, test::kBootstrap2}) {
    PublicKey pk = public_key_of(acc.sk);
    EXPECT_EQ(pk.to_b58(), acc.pk);
    EXPECT_EQ(pk.hash().to_b58(), acc.pkh);
    auto parsed = PublicKey::parse(acc.pk);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, pk);
  }
}

TEST(Keys, Bootstrap1RawBytes) {
  auto seed = b58check_decode(Prefix::Edsk, test::kBootstrap1.sk);
  ASSERT_TRUE(seed.ok());
  EXPECT_EQ(to_hex(*seed), "8500c86780141917fcd8ac6a54a43a9eeda1aba9d263ce5dec5a1d0e5df1e598");
  auto pk = PublicKey::parse(test::kBootstrap1.pk);
  ASSERT_TRUE(pk.ok());
  EXPECT_EQ(pk->curve, Curve::Ed25519);
  EXPECT_EQ(to_hex(pk->key), "4798d2cc98473d7e250c898885718afd2e4efbcb1a1595ab9730761ed830de0f");
  auto pkh = PublicKeyHash::parse(test::kBootstrap1.pkh);
  ASSERT_TRUE(pkh.ok());
  EXPECT_EQ(to_hex(pkh->hash), "02298c03ed7d454a101eb7022bc95f7e5f41ac78");
  EXPECT_EQ(to_hex(pkh->binary()), "0002298c03ed7d454a101eb7022bc95f7e5f41ac78");
  EXPECT_EQ(PublicKeyHash::from_binary(pkh->binary()).value(), *pkh);
}

TEST(Keys, PkhHexToBase58ForEveryCurve) {
  // src/lib_crypto/test/key_encoding_vectors.ml
  struct V {
    Curve curve;
    std::string_view hash, b58;
  };
  for (const auto& v : {V{Curve::Ed25519, "811d97c377168a8bb2111c1651d23d9116b92f4c", "tz1XQjK1b3P72kMcHsoPhnAg3dvX1n8Ainty"},
                        V{Curve::Secp256k1, "a8a3da850741d1cf7eb53a3514c0bf3df62b3378", "tz2PgvUJzfmDXTZUvkyKbQb8kjoWR4Wa5Rpv"},
                        V{Curve::P256, "48480adaec07ecafbe1de0b2bb68688238740184", "tz3SvEa4tSowHC5iQ8Aw6DVKAAGqBPdyK1MH"},
                        V{Curve::Bls12_381, "5d1497f39b87599983fe8f29599b679564be822d", "tz4HVR6aty9KwsQFHh81C1G7gBdhxT8kuytm"}}) {
    auto parsed = PublicKeyHash::parse(v.b58);
    ASSERT_TRUE(parsed.ok()) << v.b58;
    EXPECT_EQ(parsed->curve, v.curve);
    EXPECT_EQ(to_hex(parsed->hash), v.hash);
    EXPECT_EQ(parsed->binary()[0], static_cast<std::uint8_t>(v.curve));
    PublicKeyHash built;
    built.curve = v.curve;
    Bytes h = hex(v.hash);
    std::copy(h.begin(), h.end(), built.hash.begin());
    EXPECT_EQ(built.to_b58(), v.b58);
  }
}

TEST(Keys, EcdsaTriplesSkToPkToPkh) {
  // src/lib_crypto/test/key_encoding_vectors.ml
  struct V {
    std::string_view pkh, pk, sk;
  };
  for (const auto& v : {V{"tz2SSuN7FRcAurZPSAQS1swNWE8xxf71MTjt", "sppk7aFpmJLm3ZxMd3F4osvGBq77R1NeSpiJVnof3Wiv4mt84EBE9aX",
                          "spsk2oCGdj7yZFmAWr1wqopU512kDtCfWfs7N4FoRH6bkHhgXk5Tu5"},
                        V{"tz3ZxowXGSjiVq227GQcwKdz87rKhq62rY4t", "p2pk66Y3178eHvgWFA4CDsgGPhbkWtwrYCVUKJnsAi41eGP7MbHKv24",
                          "p2sk2g5Btw8MK7fnhQg9d7DaE8QYX8A89BLWaqWTQcHuATYY3ABjD9"}}) {
    PublicKey pk = public_key_of(v.sk);
    EXPECT_EQ(pk.to_b58(), v.pk);
    EXPECT_EQ(pk.hash().to_b58(), v.pkh);
  }
}

TEST(Keys, BlsPublicKeyHashesToItsTz4) {
  // key_encoding_vectors.ml and tezt/lib_tezos/constant.ml; BLS signing is not supported,
  // but tz4 keys must parse and hash (authorized keys, BLS-mode watermarks).
  struct V {
    std::string_view pkh, pk;
  };
  for (const auto& v : {V{"tz4TFJdv9Jd44FtBMAxi3KQT7AtazhVyaPa6",
                          "BLpk1ur5XXicWYMMzCVZZWyLZhybtyX8Zot2uCzDCZW8KcC5BdZiLVXRZvZzi4GuZYL9SarUvKpE"},
                        V{"tz4EECtMxAuJ9UDLaiMZH7G1GCFYUWsj8HZn",
                          "BLpk1yUiLJ7RezbyViD5ZvWTfQndM3TRRYmvYWkUfH2EJqsLFnzzvpJss6pbuz3U1DDMpk8v16nV"}}) {
    auto pk = PublicKey::parse(v.pk);
    ASSERT_TRUE(pk.ok());
    EXPECT_EQ(pk->curve, Curve::Bls12_381);
    EXPECT_EQ(pk->key.size(), 48u);
    EXPECT_EQ(pk->hash().to_b58(), v.pkh);
    EXPECT_EQ(pk->to_b58(), v.pk);
  }
}

TEST(Keys, ParseErrorsNameWhatWasWrong) {
  auto pkh = PublicKeyHash::parse(test::kBootstrap1.pk);
  ASSERT_FALSE(pkh.ok());
  EXPECT_EQ(pkh.error().message, "unknown public key hash prefix");
  auto pk = PublicKey::parse(test::kBootstrap1.pkh);
  ASSERT_FALSE(pk.ok());
  EXPECT_EQ(pk.error().message, "unknown public key prefix");
  auto sig = Signature::parse(test::kBootstrap1.pk);
  ASSERT_FALSE(sig.ok());
  EXPECT_EQ(sig.error().message, "unknown signature prefix");
  auto chain = ChainId::parse(test::kBootstrap1.pkh);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.error().message, "wrong base58check prefix: expected Net");
  std::string flipped(test::kBootstrap1.pkh);
  flipped.back() = 'T';
  EXPECT_EQ(PublicKeyHash::parse(flipped).error().message, "invalid base58check checksum");
}

TEST(Keys, CompressedPointsMustStartWith02Or03) {
  Bytes bad(33, 0x04);
  auto pk = PublicKey::from_raw(Curve::Secp256k1, bad);
  ASSERT_FALSE(pk.ok());
  EXPECT_EQ(pk.error().message, "invalid secp256k1 public key: not a compressed point");
  EXPECT_FALSE(PublicKey::from_raw(Curve::Ed25519, Bytes(33, 0x02)).ok());
  EXPECT_FALSE(PublicKey::from_raw(Curve::Bls12_381, Bytes(32, 0x02)).ok());
}

TEST(ChainIds, MainnetAndTestChains) {
  auto main = ChainId::parse("NetXdQprcVkpaWU");
  ASSERT_TRUE(main.ok());
  EXPECT_EQ(to_hex(main->bytes), "7a06a770");
  EXPECT_EQ(*main, kMainnetChainId);
  EXPECT_EQ(kMainnetChainId.to_b58(), "NetXdQprcVkpaWU");
  EXPECT_EQ(to_hex(ChainId::parse("NetXxkAx4woPLyu")->bytes), "ed9d217c");
  EXPECT_EQ(to_hex(ChainId::parse("NetXLH1uAxK7CCh")->bytes), "1395aa01");
}

TEST(ChainIds, MainnetIdIsDerivedFromTheGenesisBlockHash) {
  // src/lib_node_config/config_file.ml
  auto genesis = b58check_decode(Prefix::BlockHash, "BLockGenesisGenesisGenesisGenesisGenesisf79b5d1CoW2");
  ASSERT_TRUE(genesis.ok());
  EXPECT_EQ(to_hex(*genesis), "8fcf233671b6a04fcf679d2a381c2544ea6c1ea29ba6157776ed8424c7ccd00b");
  EXPECT_EQ(ChainId::from_genesis_block_hash(*genesis), kMainnetChainId);
}

TEST(Signatures, TaquitoEd25519Vector) {
  // ecadlabs/taquito packages/taquito-signer/test/taquito-signer.spec.ts, "Tz1 32 bytes"
  constexpr std::string_view sk = "edsk4TjJWEszkHKono7XMnepVqwi37FrpbVt1KCsifJeAGimxheShG";
  PublicKey pk = public_key_of(sk);
  EXPECT_EQ(pk.to_b58(), "edpkuhmrbunxumoiVdQuxBZUPMmwkPt7yLtY5Qnua3VJVTLWr3vXXa");
  EXPECT_EQ(pk.hash().to_b58(), "tz1b9kV41KV9N3sp69ycLdSoZ2Ak8jXwtNPv");

  const Bytes msg = hex("031234");
  Signature sig = sign(sk, msg);
  EXPECT_EQ(sig.to_generic_b58(),
            "sigpKAnfQGzG4Rk5pV7z9mx2TL9veQCHD7qN4PhsUZMj1BqsumBoApBS9Ue616vKVymxrzfZE2L4h27zzxRUVy6BNPRMpufb");
  EXPECT_EQ(sig.to_b58(),
            "edsigtz8duidBGCFToGonG1zxuKjqvkjLAv5iD3p8SDUYN5299hrMgh5uGVPPggcu1ngLDWLcb51PAgenro3A5cqwHESVJ31m4x");

  auto generic = Signature::parse(
      "sigpKAnfQGzG4Rk5pV7z9mx2TL9veQCHD7qN4PhsUZMj1BqsumBoApBS9Ue616vKVymxrzfZE2L4h27zzxRUVy6BNPRMpufb");
  ASSERT_TRUE(generic.ok());
  EXPECT_FALSE(generic->curve.has_value());
  EXPECT_EQ(generic->raw, sig.raw);
  EXPECT_TRUE(verify(pk, msg, *generic));
  EXPECT_FALSE(verify(pk, hex("031235"), *generic));
}

TEST(Signatures, Bootstrap1SignsLikeOctez) {
  // reference/octez-signer.md §11.7
  const Bytes one = hex("03");
  EXPECT_EQ(to_hex(crypto::blake2b_256(one)), "e88bd757ad5b9bedf372d8d3f0cf6c962a469db61a265f6418e1ffed86da29ec");
  EXPECT_EQ(sign(test::kBootstrap1.sk, one).to_b58(),
            "edsigtzxo2Q7wFiEjausSp7pKUXLK9PnPqf8rHEKdc18HtNVbZSg5WJyFJwk14w7mykCsq3nV5iB6Eo4gTX3y8Dv8tkn1EadRj7");
  EXPECT_EQ(sign(test::kBootstrap1.sk, hex(test::kAttestationHex)).to_b58(),
            "edsigu3LFG1nPS2kyVXKmYDZkuaq9hsoGrjH5y3ir7C7ne9GMcFzVztvkaxGQjeqgSoJ43V1QpgwrLQUot3BbuJw3BGy92xurv9");
}

TEST(Signatures, AuthenticationPayloadSignedByBootstrap2Verifies) {
  // 0x04 || 0x01 || binary pkh of the signing key || data (reference §3, vectors §11.7)
  auto signer = PublicKeyHash::parse(test::kBootstrap1.pkh).value();
  auto auth_payload = [&](const Bytes& data) {
    Bytes p = {0x04, 0x01};
    Bytes b = signer.binary();
    p.insert(p.end(), b.begin(), b.end());
    p.insert(p.end(), data.begin(), data.end());
    return p;
  };
  const Bytes for_03 = auth_payload(hex("03"));
  EXPECT_EQ(to_hex(for_03), "04010002298c03ed7d454a101eb7022bc95f7e5f41ac7803");
  const Bytes for_att = auth_payload(hex(test::kAttestationHex));
  EXPECT_EQ(for_att.size(), 103u);

  const PublicKey b2 = PublicKey::parse(test::kBootstrap2.pk).value();
  const PublicKey b1 = PublicKey::parse(test::kBootstrap1.pk).value();
  auto sig03 = Signature::parse(
      "edsigtmZuw1QkALzKBKXq27nsTKxPYUFFs8q7N87ZPiPtmd73Nk4ejq4bTFGT22efyhFswwUMqRH125t1bu9h6nufdevkv82TM3");
  auto sig_att = Signature::parse(
      "edsigtpuSrpMewNtxr8gyHz7D5AKTfmKoXtrVDidiEUdQv27YwmMuWKfHnvs1VdVVcNrV4bBuhS5TcNWZBM4KU8rpigprsYgHR3");
  ASSERT_TRUE(sig03.ok());
  ASSERT_TRUE(sig_att.ok());
  EXPECT_TRUE(verify(b2, for_03, *sig03));
  EXPECT_TRUE(verify(b2, for_att, *sig_att));
  EXPECT_FALSE(verify(b1, for_03, *sig03));        // not the authorized key
  EXPECT_FALSE(verify(b2, for_att, *sig03));       // signature of another payload
  EXPECT_FALSE(verify(b2, hex("03"), *sig03));     // the bare data is not what was signed
}

TEST(Signatures, EcdsaSignaturesVerifyAndCurvesMustMatch) {
  constexpr std::string_view spsk = "spsk2oCGdj7yZFmAWr1wqopU512kDtCfWfs7N4FoRH6bkHhgXk5Tu5";
  constexpr std::string_view p2sk = "p2sk2g5Btw8MK7fnhQg9d7DaE8QYX8A89BLWaqWTQcHuATYY3ABjD9";
  const Bytes msg = hex(test::kAttestationHex);
  for (auto sk : {spsk, p2sk}) {
    PublicKey pk = public_key_of(sk);
    Signature sig = sign(sk, msg);
    std::string b58 = sig.to_b58();
    EXPECT_EQ(b58.substr(0, pk.curve == Curve::Secp256k1 ? 6 : 5), pk.curve == Curve::Secp256k1 ? "spsig1" : "p2sig");
    auto parsed = Signature::parse(b58);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->curve, pk.curve);
    EXPECT_TRUE(verify(pk, msg, *parsed));
    Signature as_ed = *parsed;
    as_ed.curve = Curve::Ed25519;
    EXPECT_FALSE(verify(pk, msg, as_ed));
  }
  // BLS verification is not available: never reports success.
  auto bls = PublicKey::parse("BLpk1ur5XXicWYMMzCVZZWyLZhybtyX8Zot2uCzDCZW8KcC5BdZiLVXRZvZzi4GuZYL9SarUvKpE").value();
  EXPECT_FALSE(verify(bls, msg, Signature{Curve::Bls12_381, Bytes(96, 1)}));
}

}  // namespace
}  // namespace pisigner::tezos
