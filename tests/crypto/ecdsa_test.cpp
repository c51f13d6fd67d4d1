// secp256k1 and P-256: known answers from RFC 6979 and the secp256k1 "Satoshi Nakamoto"
// vectors, low-S, malleability, DER and point conversion as a Ledger client uses them.
#include <gtest/gtest.h>

#include <cstring>

#include "pisigner/crypto/signing.hpp"
#include "test_util.hpp"

using namespace pisigner;
using namespace pisigner::crypto;
using pisigner::crypto::test::as_bytes;
using pisigner::crypto::test::hex;

namespace {

constexpr std::string_view kSecp256k1N = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
constexpr std::string_view kP256N = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

// RFC 6979 A.2.5 (P-256).
constexpr std::string_view kRfcX = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
constexpr std::string_view kRfcUx = "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6";
constexpr std::string_view kRfcUy = "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";
constexpr std::string_view kRfcSampleR = "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716";
constexpr std::string_view kRfcSampleS = "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";
constexpr std::string_view kRfcTestR = "f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367";
constexpr std::string_view kRfcTestS = "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083";

Bytes order(Curve c) { return hex(c == Curve::Secp256k1 ? kSecp256k1N : kP256N); }

// a - b for 32-byte big-endian numbers with a >= b.
Bytes sub(const Bytes& a, ByteView b) {
  Bytes out(32);
  int borrow = 0;
  for (std::size_t i = 32; i-- > 0;) {
    int d = int{a[i]} - int{b[i]} - borrow;
    borrow = d < 0;
    out[i] = static_cast<std::uint8_t>(d + 256 * borrow);
  }
  return out;
}

bool is_low_s(Curve c, const Signature64& sig) {
  Bytes n = order(c);
  Bytes half(32);
  unsigned carry = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    half[i] = static_cast<std::uint8_t>((carry << 7) | (n[i] >> 1));
    carry = n[i] & 1u;
  }
  return std::memcmp(sig.data() + 32, half.data(), 32) <= 0;
}

Signature64 with_high_s(Curve c, const Signature64& sig) {
  Bytes s = sub(order(c), ByteView(sig).subspan(32));
  Signature64 out = sig;
  std::copy(s.begin(), s.end(), out.begin() + 32);
  return out;
}

Bytes der_of(std::string_view r_hex, std::string_view s_hex, std::uint8_t tag = 0x30) {
  Bytes r = hex(r_hex), s = hex(s_hex);
  auto push_int = [](Bytes& out, const Bytes& v) {
    out.push_back(0x02);
    bool pad = v[0] & 0x80;
    out.push_back(static_cast<std::uint8_t>(v.size() + pad));
    if (pad) out.push_back(0);
    out.insert(out.end(), v.begin(), v.end());
  };
  Bytes body;
  push_int(body, r);
  push_int(body, s);
  body.insert(body.begin(), {tag, static_cast<std::uint8_t>(body.size())});
  return body;
}

class EcdsaCurves : public ::testing::TestWithParam<Curve> {};

}  // namespace

TEST(Secp256k1, DeterministicSignaturesMatchPublishedVectors) {
  Digest32 digest = sha256(as_bytes("Satoshi Nakamoto"));
  Bytes one(32, 0);
  one[31] = 1;
  auto k1 = SecretKey::from_bytes(Curve::Secp256k1, one);
  ASSERT_TRUE(k1);
  EXPECT_EQ(to_hex(k1->public_key()), "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
  EXPECT_EQ(to_hex(k1->sign_digest(digest)),
            "934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8"
            "2442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5");

  auto kmax = SecretKey::from_bytes(Curve::Secp256k1, hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140"));
  ASSERT_TRUE(kmax);
  auto expected = der_to_compact(Curve::Secp256k1,
                                 hex("3045022100fd567d121db66e382991534ada77a6bd3106f0a1098c231e47993447cd6af2d0"
                                     "02206b39cd0eb1bc8603e159ef5c20a5c8ad685a45b06ce9bebed3f153d10d93bed5"));
  ASSERT_TRUE(expected);
  EXPECT_EQ(kmax->sign_digest(digest), *expected);
  EXPECT_TRUE(verify_digest(Curve::Secp256k1, kmax->public_key(), digest, *expected));
}

TEST(P256, Rfc6979KeyAndSignatures) {
  auto key = SecretKey::from_bytes(Curve::P256, hex(kRfcX));
  ASSERT_TRUE(key);
  // Uy is odd, so the compressed form starts with 0x03.
  EXPECT_EQ(to_hex(key->public_key()), "03" + std::string(kRfcUx));
  Bytes uncompressed = hex("04" + std::string(kRfcUx) + std::string(kRfcUy));
  auto compressed = compress_point(Curve::P256, uncompressed);
  ASSERT_TRUE(compressed);
  EXPECT_EQ(*compressed, key->public_key());

  // The published "sample" signature has a high S: the DER conversion must flip it to n - s,
  // which verifies, while the published high-S form is refused.
  Digest32 sample = sha256(as_bytes("sample"));
  auto low = der_to_compact(Curve::P256, der_of(kRfcSampleR, kRfcSampleS));
  ASSERT_TRUE(low);
  EXPECT_EQ(to_hex(ByteView(*low).first(32)), kRfcSampleR);
  EXPECT_EQ(Bytes(low->begin() + 32, low->end()), sub(order(Curve::P256), hex(kRfcSampleS)));
  EXPECT_TRUE(verify_digest(Curve::P256, key->public_key(), sample, *low));
  Bytes published = hex(std::string(kRfcSampleR) + std::string(kRfcSampleS));
  EXPECT_FALSE(verify_digest(Curve::P256, key->public_key(), sample, published));

  // The "test" signature is already low-S and passes through unchanged.
  Digest32 test = sha256(as_bytes("test"));
  auto t = der_to_compact(Curve::P256, der_of(kRfcTestR, kRfcTestS));
  ASSERT_TRUE(t);
  EXPECT_EQ(to_hex(*t), std::string(kRfcTestR) + std::string(kRfcTestS));
  EXPECT_TRUE(verify_digest(Curve::P256, key->public_key(), test, *t));
  EXPECT_FALSE(verify_digest(Curve::P256, key->public_key(), sample, *t));
}

// RFC 6979 A.2.5 with SHA-256: our signer must find the RFC's nonce (r matches) and return the
// low-S form. Tezos feeds a 32-byte BLAKE2b digest the same way the RFC feeds SHA-256(msg).
TEST(P256, SignsRfc6979VectorsDeterministically) {
  auto key = SecretKey::from_bytes(Curve::P256, hex(kRfcX));
  ASSERT_TRUE(key);
  Signature64 sample = key->sign_digest(sha256(as_bytes("sample")));
  EXPECT_EQ(to_hex(ByteView(sample).first(32)), kRfcSampleR);
  EXPECT_EQ(Bytes(sample.begin() + 32, sample.end()), sub(order(Curve::P256), hex(kRfcSampleS)));  // flipped to low S
  EXPECT_EQ(to_hex(key->sign_digest(sha256(as_bytes("test")))), std::string(kRfcTestR) + std::string(kRfcTestS));
}

// The identical re-sign rule (a watermark durable, its signature lost) relies on this: the same
// digest signed again, by the same key object or by the key loaded afresh after a restart, gives the
// same bytes. A random nonce would give a second valid signature = a second block hash.
TEST(Signing, EveryCurveSignsTheSameDigestIdentically) {
  for (Curve c : {Curve::Ed25519, Curve::Secp256k1, Curve::P256}) {
    SecretKey key = SecretKey::generate(c);
    auto reloaded = SecretKey::from_bytes(c, key.secret_bytes());
    ASSERT_TRUE(reloaded) << curve_name(c);
    for (int i = 0; i < 20; ++i) {
      Digest32 d = blake2b_256(Bytes{static_cast<std::uint8_t>(i)});
      Signature64 first = key.sign_digest(d);
      EXPECT_EQ(key.sign_digest(d), first) << curve_name(c) << " " << i;
      EXPECT_EQ(reloaded->sign_digest(d), first) << curve_name(c) << " " << i;
    }
    EXPECT_TRUE(signs_deterministically(c)) << curve_name(c);
  }
  EXPECT_FALSE(signs_deterministically(Curve::Bls12_381));
}

TEST_P(EcdsaCurves, SignaturesAreAlwaysLowSAndVerify) {
  SecretKey key = SecretKey::generate(GetParam());
  ASSERT_EQ(key.public_key().size(), 33u);
  for (int i = 0; i < 200; ++i) {
    Bytes msg{static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(i >> 8)};
    Digest32 d = blake2b_256(msg);
    Signature64 sig = key.sign_digest(d);
    ASSERT_TRUE(is_low_s(GetParam(), sig)) << i;
    ASSERT_TRUE(verify_digest(GetParam(), key.public_key(), d, sig)) << i;
  }
}

TEST_P(EcdsaCurves, TamperingAndHighSAreRejected) {
  Curve c = GetParam();
  SecretKey key = SecretKey::generate(c);
  Digest32 d = blake2b_256(hex("030102"));
  Signature64 sig = key.sign_digest(d);
  ASSERT_TRUE(verify_digest(c, key.public_key(), d, sig));

  Digest32 d2 = d;
  d2[0] ^= 0x80;
  EXPECT_FALSE(verify_digest(c, key.public_key(), d2, sig));
  for (std::size_t pos : {0u, 31u, 32u, 63u}) {
    Signature64 bad = sig;
    bad[pos] ^= 0x01;
    EXPECT_FALSE(verify_digest(c, key.public_key(), d, bad)) << pos;
  }
  // (r, n - s) is the mathematically valid twin: accepting it would make signatures malleable.
  EXPECT_FALSE(verify_digest(c, key.public_key(), d, with_high_s(c, sig)));

  SecretKey other = SecretKey::generate(c);
  EXPECT_FALSE(verify_digest(c, other.public_key(), d, sig));
  EXPECT_FALSE(verify_digest(c, key.public_key(), d, ByteView(sig).first(63)));
  EXPECT_FALSE(verify_digest(c, ByteView(key.public_key()).first(32), d, sig));
  Bytes zero_sig(64, 0);
  EXPECT_FALSE(verify_digest(c, key.public_key(), d, zero_sig));
}

TEST_P(EcdsaCurves, FromBytesChecksTheScalarRange) {
  Curve c = GetParam();
  Bytes n = order(c);
  Bytes one(32, 0);
  one[31] = 1;
  Bytes n_minus_1 = sub(n, one);
  Bytes n_plus_1 = n;
  n_plus_1[31] += 1;  // n ends in 0x41 / 0x51: no carry
  EXPECT_TRUE(SecretKey::from_bytes(c, one));
  EXPECT_TRUE(SecretKey::from_bytes(c, n_minus_1));
  EXPECT_FALSE(SecretKey::from_bytes(c, Bytes(32, 0)));
  EXPECT_FALSE(SecretKey::from_bytes(c, n));
  EXPECT_FALSE(SecretKey::from_bytes(c, n_plus_1));
  EXPECT_FALSE(SecretKey::from_bytes(c, Bytes(32, 0xff)));
  EXPECT_FALSE(SecretKey::from_bytes(c, Bytes(31, 1)));
  EXPECT_FALSE(SecretKey::from_bytes(c, Bytes(33, 1)));

  auto k = SecretKey::from_bytes(c, n_minus_1);
  ASSERT_TRUE(k);
  EXPECT_EQ(Bytes(k->secret_bytes().begin(), k->secret_bytes().end()), n_minus_1);
}

TEST_P(EcdsaCurves, CompressPointRoundTripsAndRejectsGarbage) {
  Curve c = GetParam();
  Bytes g = c == Curve::Secp256k1
                ? hex("0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
                      "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8")
                : hex("046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
                      "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
  // The generator is the public key of the scalar 1; Y is even for secp256k1, odd for P-256.
  Bytes one(32, 0);
  one[31] = 1;
  auto k = SecretKey::from_bytes(c, one);
  ASSERT_TRUE(k);
  auto cg = compress_point(c, g);
  ASSERT_TRUE(cg);
  EXPECT_EQ(*cg, k->public_key());
  EXPECT_EQ((*cg)[0], c == Curve::Secp256k1 ? 0x02 : 0x03);
  EXPECT_EQ(Bytes(cg->begin() + 1, cg->end()), Bytes(g.begin() + 1, g.begin() + 33));

  Bytes off_curve = g;
  off_curve[64] ^= 1;
  EXPECT_FALSE(compress_point(c, off_curve));
  Bytes wrong_tag = g;
  wrong_tag[0] = 0x06;
  EXPECT_FALSE(compress_point(c, wrong_tag));
  EXPECT_FALSE(compress_point(c, ByteView(g).first(64)));
  EXPECT_FALSE(compress_point(c, *cg));  // already compressed
}

INSTANTIATE_TEST_SUITE_P(Curves, EcdsaCurves, ::testing::Values(Curve::Secp256k1, Curve::P256),
                         [](const auto& info) { return std::string(curve_name(info.param)); });

TEST(DerToCompact, AcceptsLedgerParityBitAndShortIntegers) {
  Bytes der = hex("3045022100934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8"
                  "02202442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5");
  auto plain = der_to_compact(Curve::Secp256k1, der);
  ASSERT_TRUE(plain);
  EXPECT_EQ(to_hex(*plain),
            "934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d8"
            "2442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5");
  // A Ledger sets bit 0 of the first byte to the R parity.
  Bytes ledger = der;
  ledger[0] = 0x31;
  auto from_ledger = der_to_compact(Curve::Secp256k1, ledger);
  ASSERT_TRUE(from_ledger);
  EXPECT_EQ(*from_ledger, *plain);

  auto small = der_to_compact(Curve::P256, hex("3006020101020102"));
  ASSERT_TRUE(small);
  EXPECT_EQ(to_hex(*small), std::string(62, '0') + "01" + std::string(62, '0') + "02");
  // Redundant zero padding (seen in device replies) is tolerated.
  auto padded = der_to_compact(Curve::P256, hex("300702020001020102"));
  ASSERT_TRUE(padded);
  EXPECT_EQ(*padded, *small);
}

TEST(DerToCompact, RejectsMalformedAndOutOfRange) {
  Bytes good = hex("3006020101020102");
  ASSERT_TRUE(der_to_compact(Curve::Secp256k1, good));
  auto rejects = [](std::string_view h) { return !der_to_compact(Curve::Secp256k1, hex(h)); };
  EXPECT_TRUE(rejects(""));
  EXPECT_TRUE(rejects("30060201010201"));            // truncated
  EXPECT_TRUE(rejects("300602010102010200"));        // trailing byte
  EXPECT_TRUE(rejects("3206020101020102"));          // not a SEQUENCE
  EXPECT_TRUE(rejects("3007020101020102"));          // length mismatch
  EXPECT_TRUE(rejects("3006030101020102"));          // not an INTEGER
  EXPECT_TRUE(rejects("3006020100020102"));          // r = 0
  EXPECT_TRUE(rejects("3006020101020100"));          // s = 0
  EXPECT_TRUE(rejects("3006020181020102"));          // negative r
  EXPECT_TRUE(rejects("30050200020102"));            // empty INTEGER
  // r = n
  Bytes r_is_n = der_of(kSecp256k1N, "01");
  EXPECT_FALSE(der_to_compact(Curve::Secp256k1, r_is_n));
  // 33 significant bytes
  Bytes too_long = hex("3027022201" + std::string(64, '1') + "020101");
  EXPECT_FALSE(der_to_compact(Curve::Secp256k1, too_long));
  EXPECT_FALSE(der_to_compact(Curve::Ed25519, good));
}
