// BakingApp against recorded APDU transcripts (golden request bytes + device replies).
#include "pisigner/ledger/baking_app.hpp"

#include <gtest/gtest.h>

#include "pisigner/crypto/hash.hpp"
#include "pisigner/crypto/signing.hpp"
#include "scripted_transport.hpp"

namespace pisigner::ledger {
namespace {
using testing::ScriptedTransport;
using testing::Step;

const Path kPath{0x8000002C, 0x800006C1, 0x80000000, 0x80000000};  // m/44'/1729'/0'/0'
const std::string kPathHex = "048000002c800006c18000000080000000";
const std::string kEdKey = "5a7b3c1e9f0d2468ace13579bdf02468ace13579bdf02468ace13579bdf02468";
// Generator points = public keys of secret scalar 1.
const std::string kSecpG =
    "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8";
const std::string kP256G =
    "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";
const std::string kSecpOrder = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
const std::string kP256Order = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

// A minimal Tenderbake attestation payload (magic 0x13, chain id, branch, ...).
Bytes attestation() {
  Bytes m = *from_hex("13" "7a06a770");
  m.resize(1 + 4 + 32 + 1 + 2 + 4 + 4 + 32, 0x11);
  return m;
}

std::string hex_len(std::size_t n) { return to_hex(Bytes{static_cast<std::uint8_t>(n)}); }

crypto::SecretKey key_one(crypto::Curve c) {
  Bytes one(32, 0);
  one[31] = 1;
  return std::move(*crypto::SecretKey::from_bytes(c, one));
}

// DER-encodes r||s as a device would (minimal integers), with the parity flag in byte 0.
Bytes device_der(ByteView r, ByteView s, bool odd) {
  auto integer = [](ByteView v) {
    Bytes x(v.begin(), v.end());
    while (x.size() > 1 && x[0] == 0 && !(x[1] & 0x80)) x.erase(x.begin());
    if (x[0] & 0x80) x.insert(x.begin(), 0);
    Bytes out{0x02, static_cast<std::uint8_t>(x.size())};
    out.insert(out.end(), x.begin(), x.end());
    return out;
  };
  Bytes body = integer(r);
  Bytes si = integer(s);
  body.insert(body.end(), si.begin(), si.end());
  Bytes der{static_cast<std::uint8_t>(odd ? 0x31 : 0x30), static_cast<std::uint8_t>(body.size())};
  der.insert(der.end(), body.begin(), body.end());
  return der;
}

Bytes sub_be(const Bytes& a, ByteView b) {  // a - b, 32-byte big-endian
  Bytes out(32);
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = a[i] - b[i] - borrow;
    borrow = d < 0;
    out[i] = static_cast<std::uint8_t>(d + (borrow ? 256 : 0));
  }
  return out;
}

TEST(BakingApp, VersionParsesClassAndVersion) {
  ScriptedTransport t({{"8000000000", "01020501"}});
  BakingApp app(t);
  auto v = app.version();
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->app_class, 1);
  EXPECT_EQ(v->to_string(), "2.5.1");
}

TEST(BakingApp, WalletAppIsWrongApp) {
  ScriptedTransport t({{"8000000000", "00020501"}});
  BakingApp app(t);
  auto v = app.version();
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, DeviceErrc::WrongApp);
  EXPECT_NE(v.error().message.find("Wallet"), std::string::npos);
}

TEST(BakingApp, GitStopsAtNul) {
  ScriptedTransport t({{"8009000000", to_hex(Bytes{'v', '2', '.', '5', 0})}});
  BakingApp app(t);
  EXPECT_EQ(*app.git(), "v2.5");
}

TEST(BakingApp, PathEncoding) {
  EXPECT_EQ(to_hex(*encode_path(kPath)), kPathHex);
  EXPECT_EQ(to_hex(*encode_path({})), "00");
  auto too_long = encode_path(Path(11, 0x80000000));
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, DeviceErrc::WrongParam);
}

TEST(BakingApp, GetPublicKeyEd25519) {
  ScriptedTransport t({{"8002000011" + kPathHex, "2102" + kEdKey}});
  BakingApp app(t);
  auto k = app.get_public_key(DerivationType::Ed25519, kPath);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(to_hex(k->bytes), kEdKey);
}

TEST(BakingApp, GetPublicKeyBip32Ed25519UsesP2Three) {
  ScriptedTransport t({{"8002000311" + kPathHex, "2102" + kEdKey}});
  BakingApp app(t);
  auto k = app.get_public_key(DerivationType::Bip32Ed25519, kPath);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(to_hex(k->bytes), kEdKey);
}

TEST(BakingApp, GetPublicKeyEcdsaIsCompressed) {
  struct Case {
    DerivationType dt;
    crypto::Curve curve;
    std::string point;
    std::string p2;
  };
  for (const Case& c : {Case{DerivationType::Secp256k1, crypto::Curve::Secp256k1, kSecpG, "01"},
                        Case{DerivationType::P256, crypto::Curve::P256, kP256G, "02"}}) {
    ScriptedTransport t({{"800200" + c.p2 + "11" + kPathHex, "41" + c.point}});
    BakingApp app(t);
    auto k = app.get_public_key(c.dt, kPath);
    ASSERT_TRUE(k) << k.error().message;
    EXPECT_EQ(k->bytes, key_one(c.curve).public_key());  // same key the crypto library derives
  }
}

TEST(BakingApp, GetPublicKeyBlsTakesFirst48Bytes) {
  Bytes key(96);
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
  ScriptedTransport t({{"8002000411" + kPathHex, "6104" + to_hex(key)}});
  BakingApp app(t);
  auto k = app.get_public_key(DerivationType::Bls12_381, kPath);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->bytes, Bytes(key.begin(), key.begin() + 48));
}

TEST(BakingApp, MalformedPublicKeyRepliesAreBadReply) {
  for (const std::string& reply : {std::string(""), "2002" + kEdKey.substr(2), "2104" + kEdKey, "21" + std::string("02")}) {
    ScriptedTransport t({{"8002000011" + kPathHex, reply}});
    BakingApp app(t);
    auto k = app.get_public_key(DerivationType::Ed25519, kPath);
    ASSERT_FALSE(k) << reply;
    EXPECT_EQ(k.error().code, DeviceErrc::BadReply) << reply;
  }
  // An uncompressed point that is not on the curve.
  std::string bad_point = kSecpG;
  bad_point[bad_point.size() - 1] = '9';
  ScriptedTransport t({{"8002000111" + kPathHex, "41" + bad_point}});
  BakingApp app(t);
  auto k = app.get_public_key(DerivationType::Secp256k1, kPath);
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().code, DeviceErrc::BadReply);
}

TEST(BakingApp, PromptAndAuthorizeSendTheirInstructions) {
  ScriptedTransport t({{"8003000011" + kPathHex, "2102" + kEdKey}, {"8001000011" + kPathHex, "2102" + kEdKey}});
  BakingApp app(t);
  EXPECT_TRUE(app.prompt_public_key(DerivationType::Ed25519, kPath));
  EXPECT_TRUE(app.authorize_baking(DerivationType::Ed25519, kPath));
}

TEST(BakingApp, QueryAuthKey) {
  ScriptedTransport t({{"8007000000", kPathHex}, {"8007000000", "00"}});
  BakingApp app(t);
  auto k = app.query_auth_key();
  ASSERT_TRUE(k && k->has_value());
  EXPECT_EQ(**k, kPath);
  auto none = app.query_auth_key();
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST(BakingApp, QueryAuthKeyWithCurve) {
  ScriptedTransport t({{"800d000000", "01" + kPathHex},
                       {"800d000000", "0000"},
                       {"800d000000", "", 0x6A88},
                       {"800d000000", "0105"}});
  BakingApp app(t);
  auto k = app.query_auth_key_with_curve();
  ASSERT_TRUE(k && k->has_value());
  EXPECT_EQ((*k)->curve, DerivationType::Secp256k1);
  EXPECT_EQ((*k)->path, kPath);
  auto zeroed = app.query_auth_key_with_curve();  // after DEAUTHORIZE
  ASSERT_TRUE(zeroed);
  EXPECT_FALSE(zeroed->has_value());
  auto not_found = app.query_auth_key_with_curve();
  ASSERT_TRUE(not_found);
  EXPECT_FALSE(not_found->has_value());
  auto truncated = app.query_auth_key_with_curve();
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, DeviceErrc::BadReply);
}

TEST(BakingApp, QueryMainHwmBothLayouts) {
  ScriptedTransport t({{"8008000000", "0000100000000002"}, {"8008000000", "00001000"}, {"8008000000", "0000"}});
  BakingApp app(t);
  auto tb = app.query_main_hwm();
  ASSERT_TRUE(tb);
  EXPECT_EQ(tb->level, 0x1000u);
  EXPECT_EQ(tb->round, 2u);
  auto old = app.query_main_hwm();
  ASSERT_TRUE(old);
  EXPECT_EQ(old->level, 0x1000u);
  EXPECT_FALSE(old->round);
  EXPECT_FALSE(app.query_main_hwm());
}

TEST(BakingApp, QueryAllHwmTwentyAndTwelveByteLayouts) {
  ScriptedTransport t({{"800b000000", "00000064" "00000001" "000000c8" "00000002" "7a06a770"},
                       {"800b000000", "00000064" "000000c8" "7a06a770"},
                       {"800b000000", "00000064" "000000c8"}});
  BakingApp app(t);
  auto tb = app.query_all_hwm();
  ASSERT_TRUE(tb);
  EXPECT_EQ(tb->main_level, 100u);
  EXPECT_EQ(tb->main_round, 1u);
  EXPECT_EQ(tb->test_level, 200u);
  EXPECT_EQ(tb->test_round, 2u);
  EXPECT_EQ(tb->main_chain_id, 0x7a06a770u);
  auto old = app.query_all_hwm();
  ASSERT_TRUE(old);
  EXPECT_EQ(old->main_level, 100u);
  EXPECT_FALSE(old->main_round);
  EXPECT_EQ(old->test_level, 200u);  // not mistaken for a round
  EXPECT_EQ(old->main_chain_id, 0x7a06a770u);
  auto bad = app.query_all_hwm();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, DeviceErrc::BadReply);
}

TEST(BakingApp, SetupResetDeauthorize) {
  ScriptedTransport t({{"800a00001d" "7a06a770" "00000064" "00000000" + kPathHex, "2102" + kEdKey},
                       {"8006000004" "000003e8", ""},
                       {"800c000000", ""}});
  BakingApp app(t);
  auto k = app.setup(DerivationType::Ed25519, kPath, 0x7a06a770, 100, 0);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(to_hex(k->bytes), kEdKey);
  EXPECT_TRUE(app.reset(1000));
  EXPECT_TRUE(app.deauthorize());
}

TEST(BakingApp, SignEd25519SelectsKeyThenSendsWholeMessage) {
  const Bytes msg = attestation();
  const std::string sig(128, 'a');
  ScriptedTransport t({{"8004000011" + kPathHex, ""}, {"80048100" + hex_len(msg.size()) + to_hex(msg), sig}});
  BakingApp app(t);
  auto s = app.sign(DerivationType::Ed25519, kPath, msg);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(to_hex(s->bytes), sig);
}

TEST(BakingApp, SignWithHashChecksTheHash) {
  const Bytes msg = attestation();
  const auto h = crypto::blake2b_256(msg);
  const std::string sig(128, 'b');
  const std::string req1 = "800f000011" + kPathHex;
  const std::string req2 = "800f8100" + hex_len(msg.size()) + to_hex(msg);
  ScriptedTransport t({{req1, ""}, {req2, to_hex(h) + sig}, {req1, ""}, {req2, std::string(64, '0') + sig}});
  BakingApp app(t);
  auto ok = app.sign_with_hash(DerivationType::Ed25519, kPath, msg);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(to_hex(ok->bytes), sig);
  auto mismatch = app.sign_with_hash(DerivationType::Ed25519, kPath, msg);
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code, DeviceErrc::BadReply);
  EXPECT_NE(mismatch.error().message.find("BLAKE2b"), std::string::npos);
}

// The daemon's watermark fsync runs while the device reads the path (which signs nothing): the
// message goes out only in finish(), never after an abandon().
TEST(BakingApp, SignWithHashInStepsSendsTheMessageOnlyOnFinish) {
  const Bytes msg = attestation();
  const auto h = crypto::blake2b_256(msg);
  const std::string sig(128, 'c');
  const std::string req1 = "800f000011" + kPathHex;
  const std::string req2 = "800f8100" + hex_len(msg.size()) + to_hex(msg);
  {
    ScriptedTransport t({{req1, ""}, {req2, to_hex(h) + sig}});
    BakingApp app(t);
    ASSERT_TRUE(app.sign_with_hash_begin(DerivationType::Ed25519, kPath));
    EXPECT_EQ(t.remaining(), 1u) << "begin must send the path and nothing more";
    auto ok = app.sign_with_hash_finish(DerivationType::Ed25519, msg);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(to_hex(ok->bytes), sig);
  }
  {
    ScriptedTransport t({{req1, ""}, {req1, ""}, {req2, to_hex(h) + sig}});  // no message after an abandon
    BakingApp app(t);
    ASSERT_TRUE(app.sign_with_hash_begin(DerivationType::Ed25519, kPath));
    ASSERT_TRUE(app.sign_with_hash_abandon());
    EXPECT_EQ(t.remaining(), 2u);
    // The app is ready for the next signature, and begin twice is refused.
    ASSERT_TRUE(app.sign_with_hash_begin(DerivationType::Ed25519, kPath));
    EXPECT_FALSE(app.sign_with_hash_begin(DerivationType::Ed25519, kPath));
    auto ok = app.sign_with_hash_finish(DerivationType::Ed25519, msg);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_FALSE(app.sign_with_hash_abandon()) << "nothing under way";
  }
}

TEST(BakingApp, SignEcdsaStripsParityFlagAndNormalisesToLowS) {
  struct Case {
    DerivationType dt;
    crypto::Curve curve;
    std::string order;
    std::string p2;
  };
  for (const Case& c : {Case{DerivationType::Secp256k1, crypto::Curve::Secp256k1, kSecpOrder, "01"},
                        Case{DerivationType::P256, crypto::Curve::P256, kP256Order, "02"}}) {
    const Bytes msg = attestation();
    const auto key = key_one(c.curve);
    const auto digest = crypto::blake2b_256(msg);
    const auto compact = key.sign_digest(digest);  // low S
    ByteView r = ByteView(compact).first(32);
    ByteView s = ByteView(compact).subspan(32);
    const Bytes high_s = sub_be(*from_hex(c.order), s);
    const std::string req1 = "800400" + c.p2 + "11" + kPathHex;
    const std::string req2 = "800481" + c.p2 + hex_len(msg.size()) + to_hex(msg);
    ScriptedTransport t({{req1, ""}, {req2, to_hex(device_der(r, s, true))},
                         {req1, ""}, {req2, to_hex(device_der(r, high_s, false))}});
    BakingApp app(t);
    auto flagged = app.sign(c.dt, kPath, msg);
    ASSERT_TRUE(flagged) << flagged.error().message;
    EXPECT_EQ(flagged->bytes, Bytes(compact.begin(), compact.end()));
    EXPECT_TRUE(crypto::verify_digest(c.curve, key.public_key(), digest, flagged->bytes));
    auto high = app.sign(c.dt, kPath, msg);
    ASSERT_TRUE(high) << high.error().message;
    EXPECT_EQ(high->bytes, Bytes(compact.begin(), compact.end()));
  }
}

TEST(BakingApp, SignBlsReturns96Bytes) {
  const Bytes msg = attestation();
  const std::string sig(192, 'c');
  ScriptedTransport t({{"8004000411" + kPathHex, ""}, {"80048104" + hex_len(msg.size()) + to_hex(msg), sig}});
  BakingApp app(t);
  auto s = app.sign(DerivationType::Bls12_381, kPath, msg);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->bytes.size(), 96u);
}

TEST(BakingApp, WrongSizedSignatureIsBadReply) {
  const Bytes msg = attestation();
  ScriptedTransport t({{"8004000011" + kPathHex, ""}, {"80048100" + hex_len(msg.size()) + to_hex(msg), "aabb"}});
  BakingApp app(t);
  auto s = app.sign(DerivationType::Ed25519, kPath, msg);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, DeviceErrc::BadReply);
}

TEST(BakingApp, MessagesOver235BytesAreRefusedOnTheHost) {
  ScriptedTransport t({});  // nothing may be sent
  BakingApp app(t);
  auto s = app.sign(DerivationType::Ed25519, kPath, Bytes(236, 0x11));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, DeviceErrc::WrongLength);
}

TEST(BakingApp, Max235ByteMessageIsSent) {
  const Bytes msg(235, 0x11);
  ScriptedTransport t({{"8004000011" + kPathHex, ""}, {"80048100eb" + to_hex(msg), std::string(128, 'd')}});
  BakingApp app(t);
  EXPECT_TRUE(app.sign(DerivationType::Ed25519, kPath, msg));
}

TEST(BakingApp, SignErrorOnKeySelectionStopsBeforeTheMessage) {
  ScriptedTransport t({{"8004000011" + kPathHex, "", 0x5515}});
  BakingApp app(t);
  auto s = app.sign(DerivationType::Ed25519, kPath, attestation());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, DeviceErrc::Locked);
}

TEST(BakingApp, Hmac) {
  const Bytes msg = *from_hex("deadbeef");
  const std::string mac(64, 'e');
  ScriptedTransport t({{"800e000015" + kPathHex + "deadbeef", mac}});
  BakingApp app(t);
  auto h = app.hmac(DerivationType::Ed25519, kPath, msg);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(to_hex(*h), mac);
}

struct SwCase {
  std::uint16_t sw;
  DeviceErrc on_sign;
  DeviceErrc on_other;
  const char* words;  // part of the message a baker sees
};

TEST(BakingApp, EveryStatusWordMapsToATypedError) {
  const SwCase cases[] = {
      {sw::kLocked, DeviceErrc::Locked, DeviceErrc::Locked, "locked"},
      {sw::kClaNotSupported, DeviceErrc::WrongApp, DeviceErrc::WrongApp, "Tezos Baking app is not open"},
      {sw::kAppNotOpenNew, DeviceErrc::WrongApp, DeviceErrc::WrongApp, "Tezos Baking app is not open"},
      {sw::kAppNotOpenNew2, DeviceErrc::WrongApp, DeviceErrc::WrongApp, "Tezos Baking app is not open"},
      {sw::kInvalidIns, DeviceErrc::WrongApp, DeviceErrc::WrongApp, "Tezos Baking"},
      {sw::kSecurity, DeviceErrc::NotAuthorized, DeviceErrc::NotAuthorized, "authorized"},
      {sw::kWrongValues, DeviceErrc::HwmRefused, DeviceErrc::WrongParam, ""},
      {sw::kParseError, DeviceErrc::NotBakingMessage, DeviceErrc::NotBakingMessage, "not a block"},
      {sw::kReject, DeviceErrc::Rejected, DeviceErrc::Rejected, "rejected"},
      {sw::kWrongParam, DeviceErrc::WrongParam, DeviceErrc::WrongParam, "parameter"},
      {sw::kWrongLength, DeviceErrc::WrongLength, DeviceErrc::WrongLength, "length"},
      {sw::kWrongLengthForIns, DeviceErrc::WrongLength, DeviceErrc::WrongLength, "length"},
      {sw::kReferencedDataNotFound, DeviceErrc::NotAuthorized, DeviceErrc::NotAuthorized, "no baking key"},
      {sw::kMemoryError, DeviceErrc::Unknown, DeviceErrc::Unknown, "internal error"},
      {sw::kUnknownCxError, DeviceErrc::Unknown, DeviceErrc::Unknown, "internal error"},
      {0x6F00, DeviceErrc::Unknown, DeviceErrc::Unknown, "0x6F00"},
  };
  const Bytes msg = attestation();
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.sw));
    // On the message APDU of SIGN (after a successful key selection).
    ScriptedTransport ts({{"8004000011" + kPathHex, ""}, {"80048100" + hex_len(msg.size()) + to_hex(msg), "", c.sw}});
    BakingApp signer(ts);
    auto s = signer.sign(DerivationType::Ed25519, kPath, msg);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, c.on_sign);
    EXPECT_EQ(s.error().sw, c.sw);
    EXPECT_NE(s.error().message.find(c.words), std::string::npos) << s.error().message;
    // On a non-signing instruction.
    ScriptedTransport tk({{"8002000011" + kPathHex, "", c.sw}});
    BakingApp app(tk);
    auto k = app.get_public_key(DerivationType::Ed25519, kPath);
    ASSERT_FALSE(k);
    EXPECT_EQ(k.error().code, c.on_other);
  }
  EXPECT_NE(error_from_sw(sw::kLocked, Ins::Version).message.find("Ledger is locked: unlock it with the PIN"),
            std::string::npos);
  EXPECT_NE(error_from_sw(sw::kWrongValues, Ins::Sign).message.find("high watermark"), std::string::npos);
}

TEST(BakingApp, TransportErrorsPassThrough) {
  class Failing final : public Transport {
   public:
    Result<Reply, TransportError> exchange(const Apdu&, std::chrono::milliseconds) override {
      return fail(TransportError{TransportErrc::Disconnected, "unplugged"});
    }
    std::string describe() const override { return "failing"; }
  } t;
  BakingApp app(t);
  auto v = app.version();
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, DeviceErrc::Transport);
  EXPECT_EQ(v.error().transport, TransportErrc::Disconnected);
}

}  // namespace
}  // namespace pisigner::ledger
