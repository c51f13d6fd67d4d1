// base58 and base58check: Bitcoin's published base58 vectors, the Tezos prefix table
// (reference/octez-signer.md §6.1) and every way an encoded string can be malformed.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "pisigner/crypto/hash.hpp"
#include "pisigner/tezos/base58.hpp"
#include "vectors.hpp"

namespace pisigner::tezos {
namespace {

using test::hex;

// bitcoin/bitcoin src/test/data/base58_encode_decode.json
struct RawVector {
  std::string_view hex, b58;
};
constexpr RawVector kRawVectors[] = {
    {"", ""},
    {"61", "2g"},
    {"626262", "a3gV"},
    {"636363", "aPEr"},
    {"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
    {"00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
    {"516b6fcd0f", "ABnLTmg"},
    {"bf4f89001e670274dd", "3SEo3LWLoPntC"},
    {"572e4794", "3EFU7m"},
    {"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
    {"10c8511e", "Rt5zm"},
    {"00000000000000000000", "1111111111"},
};

TEST(Base58, EncodesAndDecodesBitcoinVectors) {
  for (const auto& v : kRawVectors) {
    EXPECT_EQ(base58_encode(hex(v.hex)), v.b58) << v.hex;
    auto decoded = base58_decode(v.b58);
    ASSERT_TRUE(decoded.has_value()) << v.b58;
    EXPECT_EQ(to_hex(*decoded), v.hex);
  }
}

TEST(Base58, LeadingZeroBytesBecomeOnes) {
  EXPECT_EQ(base58_encode(hex("000001")), "112");
  EXPECT_EQ(to_hex(base58_decode("112").value()), "000001");
}

// The encoder works in limbs of 58^5 fed three bytes at a time; every length 0..90 (all residues of
// both chunkings, the top limb's leading zeros, zero bytes inside and at the front) must match the
// textbook digit-by-digit conversion and decode back.
std::string textbook_base58(const Bytes& data) {
  constexpr std::string_view kAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  std::vector<int> digits;  // least significant first
  for (std::uint8_t byte : data) {
    int carry = byte;
    for (int& d : digits) {
      carry += 256 * d;
      d = carry % 58;
      carry /= 58;
    }
    for (; carry != 0; carry /= 58) digits.push_back(carry % 58);
  }
  std::string out;
  for (std::size_t i = 0; i < data.size() && data[i] == 0; ++i) out.push_back('1');
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(kAlphabet[static_cast<std::size_t>(*it)]);
  return out;
}

TEST(Base58, MatchesTheTextbookConversionForEveryLength) {
  std::uint32_t state = 12345;
  auto next = [&] { return state = state * 1103515245u + 12345u; };
  for (std::size_t len = 0; len <= 90; ++len) {
    for (int trial = 0; trial < 8; ++trial) {
      Bytes data(len);
      for (auto& b : data) b = static_cast<std::uint8_t>(next() >> 16);
      if (trial == 1 && len > 0) data[0] = 0;                        // one leading zero
      if (trial == 2) std::fill(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(len / 2), 0);
      if (trial == 3) std::fill(data.begin(), data.end(), 0xff);     // every limb at its largest
      if (trial == 4 && len > 2) std::fill(data.begin() + 1, data.end() - 1, 0);  // zeros inside
      const std::string encoded = base58_encode(data);
      ASSERT_EQ(encoded, textbook_base58(data)) << "length " << len << " trial " << trial;
      ASSERT_EQ(base58_decode(encoded).value(), data) << "length " << len << " trial " << trial;
    }
  }
}

TEST(Base58, RejectsCharactersOutsideTheAlphabet) {
  const std::string_view bads[] = {"0", "O", "I", "l", "tz1 abc", "abc+", "\xc3\xa9", std::string_view("a\0b", 3)};
  for (std::string_view bad : bads) {
    EXPECT_FALSE(base58_decode(bad).has_value()) << bad;
  }
}

TEST(Base58, RejectsOverlongInputInsteadOfQuadraticWork) {
  EXPECT_FALSE(base58_decode(std::string(kMaxBase58Length + 1, '2')).has_value());
  auto r = b58check_decode(Prefix::Tz1, std::string(kMaxBase58Length + 1, '2'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "base58check string too long");
}

// Prefix table from reference/octez-signer.md §6.1: how each encoding starts and its length.
struct PrefixRow {
  Prefix prefix;
  std::size_t payload;
  std::size_t encoded_length;
  std::string_view starts_with;
};
constexpr PrefixRow kTable[] = {
    {Prefix::Tz1, 20, 36, "tz1"},        {Prefix::Tz2, 20, 36, "tz2"},
    {Prefix::Tz3, 20, 36, "tz3"},        {Prefix::Tz4, 20, 36, "tz4"},
    {Prefix::Edpk, 32, 54, "edpk"},      {Prefix::Sppk, 33, 55, "sppk"},
    {Prefix::P2pk, 33, 55, "p2pk"},      {Prefix::BLpk, 48, 76, "BLpk"},
    {Prefix::Edsk, 32, 54, "edsk"},      {Prefix::EdskLong, 64, 98, "edsk"},
    {Prefix::Spsk, 32, 54, "spsk"},      {Prefix::P2sk, 32, 54, "p2sk"},
    {Prefix::BLsk, 32, 54, "BLsk"},      {Prefix::Edesk, 56, 88, "edesk"},
    {Prefix::Spesk, 56, 88, "spesk"},    {Prefix::P2esk, 56, 88, "p2esk"},
    {Prefix::BLesk, 56, 88, "BLesk"},    {Prefix::Edsig, 64, 99, "edsig"},
    {Prefix::Spsig1, 64, 99, "spsig1"},  {Prefix::P2sig, 64, 98, "p2sig"},
    {Prefix::GenericSig, 64, 96, "sig"}, {Prefix::BLsig, 96, 142, "BLsig"},
    {Prefix::ChainId, 4, 15, "Net"},     {Prefix::BlockHash, 32, 51, "B"},
    {Prefix::BlockPayloadHash, 32, 52, "vh"},
};

TEST(Base58Check, EveryPrefixEncodesWithItsPublishedStartAndLength) {
  for (const auto& row : kTable) {
    ASSERT_EQ(payload_size(row.prefix), row.payload) << row.starts_with;
    for (std::uint8_t fill : {std::uint8_t{0x00}, std::uint8_t{0xff}}) {
      Bytes payload(row.payload, fill);
      std::string text = b58check_encode(row.prefix, payload);
      EXPECT_EQ(text.size(), row.encoded_length) << row.starts_with;
      EXPECT_EQ(text.substr(0, row.starts_with.size()), row.starts_with);
      auto back = b58check_decode(row.prefix, text);
      ASSERT_TRUE(back.ok()) << back.error().message;
      EXPECT_EQ(*back, payload);
    }
  }
}

TEST(Base58Check, DecodesKnownPkh) {
  // src/lib_crypto/test/key_encoding_vectors.ml
  auto r = b58check_decode(Prefix::Tz1, "tz1XQjK1b3P72kMcHsoPhnAg3dvX1n8Ainty");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(to_hex(*r), "811d97c377168a8bb2111c1651d23d9116b92f4c");
}

TEST(Base58Check, FlippedCharacterFailsTheChecksum) {
  std::string text(test::kBootstrap1.pkh);
  for (std::size_t i = 3; i < text.size(); ++i) {
    std::string bad = text;
    bad[i] = bad[i] == 'a' ? 'b' : 'a';
    auto r = b58check_decode(Prefix::Tz1, bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().message, "invalid base58check checksum") << bad;
  }
}

TEST(Base58Check, WrongPrefixIsNamed) {
  auto r = b58check_decode(Prefix::Tz2, test::kBootstrap1.pkh);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "wrong base58check prefix: expected tz2");
}

TEST(Base58Check, RightPrefixWrongPayloadLengthIsNamed) {
  // A correctly checksummed tz1 prefix with a 19-byte payload.
  Bytes raw = {0x06, 0xa1, 0x9f};
  raw.resize(raw.size() + 19, 0x42);
  auto sum = crypto::sha256d(raw);
  raw.insert(raw.end(), sum.begin(), sum.begin() + 4);
  auto r = b58check_decode(Prefix::Tz1, base58_encode(raw));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "invalid length for tz1: expected 20 bytes");
}

TEST(Base58Check, NonBase58CharactersAndDegenerateInputs) {
  struct Case {
    std::string_view text, message;
  };
  for (const auto& c : {Case{"tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZS0", "invalid base58 character"},
                        Case{"tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSl", "invalid base58 character"},
                        Case{"", "empty base58check string"}, Case{"11", "base58check string too short"},
                        Case{"2g", "base58check string too short"}}) {
    auto r = b58check_decode(Prefix::Tz1, c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().message, c.message) << c.text;
  }
}

TEST(Base58Check, DecodeAnyPicksTheMatchingPrefixAndNamesTheKindOnMismatch) {
  const Prefix pkhs[] = {Prefix::Tz1, Prefix::Tz2, Prefix::Tz3, Prefix::Tz4};
  auto r = b58check_decode_any(pkhs, "tz3SvEa4tSowHC5iQ8Aw6DVKAAGqBPdyK1MH", "public key hash");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, Prefix::Tz3);
  EXPECT_EQ(to_hex(r->second), "48480adaec07ecafbe1de0b2bb68688238740184");
  auto bad = b58check_decode_any(pkhs, test::kBootstrap1.pk, "public key hash");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "unknown public key hash prefix");
}

}  // namespace
}  // namespace pisigner::tezos
