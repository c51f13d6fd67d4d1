#include "pisigner/ledger/hid_framing.hpp"

#include <gtest/gtest.h>

namespace pisigner::ledger {
namespace {

Bytes pattern(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return b;
}

Bytes feed_all(const std::vector<HidReport>& reports) {
  HidReassembler r;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    auto st = r.push(reports[i]);
    if (i + 1 < reports.size()) {
      EXPECT_EQ(st, HidReassembler::Status::NeedMore) << "packet " << i;
    } else {
      EXPECT_EQ(st, HidReassembler::Status::Complete) << r.error();
    }
  }
  return r.message();
}

TEST(HidFraming, FiveByteApduIsOnePacketWithHeaderAndLength) {
  const Bytes apdu = *from_hex("8000000000");
  auto reports = encode_hid_message(apdu);
  ASSERT_EQ(reports.size(), 1u);
  Bytes expected = *from_hex("0101050000" "0005" "8000000000");
  expected.resize(64, 0);
  EXPECT_EQ(Bytes(reports[0].begin(), reports[0].end()), expected);
}

TEST(HidFraming, MaxSizeApduSpansFivePacketsWithSequenceNumbers) {
  const Bytes apdu = pattern(240);  // 5 + 235
  auto reports = encode_hid_message(apdu);
  ASSERT_EQ(reports.size(), 5u);  // 57 + 4 * 59 >= 240
  for (std::size_t i = 0; i < reports.size(); ++i) {
    EXPECT_EQ(read_be16(reports[i], 0), kHidChannel);
    EXPECT_EQ(reports[i][2], kHidTagApdu);
    EXPECT_EQ(read_be16(reports[i], 3), i);
  }
  EXPECT_EQ(read_be16(reports[0], 5), 240);
  // Bytes 7.. of packet 0, then 5.. of the rest, reassemble to the original.
  EXPECT_EQ(feed_all(reports), apdu);
  // Padding after the last byte is zero.
  const std::size_t tail = 240 - 57 - 3 * 59;  // bytes in the last packet
  for (std::size_t i = 5 + tail; i < 64; ++i) EXPECT_EQ(reports[4][i], 0) << i;
}

TEST(HidFraming, Reply200BytesPlusStatusReassembles) {
  Bytes reply = pattern(200);
  reply.push_back(0x90);
  reply.push_back(0x00);
  auto reports = encode_hid_message(reply);
  EXPECT_EQ(reports.size(), 4u);
  EXPECT_EQ(feed_all(reports), reply);
}

TEST(HidFraming, ExactlyOneFullFirstPacket) {
  const Bytes m = pattern(57);
  auto reports = encode_hid_message(m);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(feed_all(reports), m);
  EXPECT_EQ(encode_hid_message(pattern(58)).size(), 2u);
}

TEST(HidFraming, WrongChannelIsAnError) {
  auto reports = encode_hid_message(*from_hex("9000"), 0x0202);
  HidReassembler r;
  EXPECT_EQ(r.push(reports[0]), HidReassembler::Status::Error);
  EXPECT_NE(r.error().find("channel"), std::string::npos);
}

TEST(HidFraming, WrongTagIsAnError) {
  auto reports = encode_hid_message(*from_hex("9000"));
  reports[0][2] = 0x02;  // ping
  HidReassembler r;
  EXPECT_EQ(r.push(reports[0]), HidReassembler::Status::Error);
  EXPECT_NE(r.error().find("tag"), std::string::npos);
}

TEST(HidFraming, SequenceGapIsAnError) {
  auto reports = encode_hid_message(pattern(150));
  ASSERT_EQ(reports.size(), 3u);
  HidReassembler r;
  EXPECT_EQ(r.push(reports[0]), HidReassembler::Status::NeedMore);
  EXPECT_EQ(r.push(reports[2]), HidReassembler::Status::Error);
  EXPECT_NE(r.error().find("expected 1, got 2"), std::string::npos);
  // Sticky until reset.
  EXPECT_EQ(r.push(reports[1]), HidReassembler::Status::Error);
  r.reset();
  EXPECT_EQ(feed_all(reports), pattern(150));
}

TEST(HidFraming, FirstPacketMustHaveSequenceZero) {
  auto reports = encode_hid_message(pattern(150));
  HidReassembler r;
  EXPECT_EQ(r.push(reports[1]), HidReassembler::Status::Error);
}

TEST(HidFraming, ShortReportIsAnError) {
  auto reports = encode_hid_message(*from_hex("9000"));
  HidReassembler r;
  EXPECT_EQ(r.push(ByteView(reports[0]).first(10)), HidReassembler::Status::Error);
  EXPECT_NE(r.error().find("short"), std::string::npos);
}

TEST(HidFraming, OversizedDeclaredLengthIsAnError) {
  auto reports = encode_hid_message(*from_hex("9000"));
  reports[0][5] = 0xFF;
  reports[0][6] = 0xFF;
  HidReassembler r;
  EXPECT_EQ(r.push(reports[0]), HidReassembler::Status::Error);
  reports[0][5] = static_cast<std::uint8_t>((kMaxHidMessage + 1) >> 8);
  reports[0][6] = static_cast<std::uint8_t>(kMaxHidMessage + 1);
  r.reset();
  EXPECT_EQ(r.push(reports[0]), HidReassembler::Status::Error);
}

TEST(HidFraming, ReplyWithoutStatusWordIsAnError) {
  auto reports = encode_hid_message(*from_hex("90"));
  HidReassembler r;
  EXPECT_EQ(r.push(reports[0]), HidReassembler::Status::Error);
}

}  // namespace
}  // namespace pisigner::ledger
