// The Speculos request stream reader: frames cut anywhere by the socket, back to back, and the
// oversized length that ends a client.
#include "pisigner/ledger/emulator/frame_reader.hpp"

#include <gtest/gtest.h>

namespace pisigner::ledger::emulator {
namespace {

Bytes frame(const Bytes& apdu) {
  Bytes f;
  append_be32(f, static_cast<std::uint32_t>(apdu.size()));
  f.insert(f.end(), apdu.begin(), apdu.end());
  return f;
}

TEST(FrameReader, ReturnsFramesCutAtEveryByte) {
  const Bytes a{0x80, 0x00, 0x00, 0x00, 0x00};
  const Bytes b{0x80, 0x09, 0x00, 0x00, 0x00};
  Bytes stream = frame(a);
  const Bytes fb = frame(b);
  stream.insert(stream.end(), fb.begin(), fb.end());
  FrameReader r;
  std::vector<Bytes> got;
  for (std::uint8_t byte : stream) {
    r.feed(ByteView(&byte, 1));
    while (auto apdu = r.next()) got.push_back(*apdu);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], a);
  EXPECT_EQ(got[1], b);
  EXPECT_EQ(r.buffered(), 0u);
  EXPECT_FALSE(r.broken());
}

TEST(FrameReader, EmptyFrameIsAnEmptyApdu) {
  FrameReader r;
  r.feed(frame({}));
  auto apdu = r.next();
  ASSERT_TRUE(apdu);
  EXPECT_TRUE(apdu->empty());
  EXPECT_FALSE(r.next());
}

TEST(FrameReader, OversizedLengthBreaksTheStreamAfterTheFramesBeforeIt) {
  FrameReader r;
  Bytes stream = frame({0x80, 0x00, 0x00, 0x00, 0x00});
  append_be32(stream, kMaxSpeculosFrame + 1);
  r.feed(stream);
  EXPECT_TRUE(r.next());
  EXPECT_FALSE(r.next());
  EXPECT_TRUE(r.broken());
  r.feed(frame({0x80}));  // ignored: the client is dropped
  EXPECT_FALSE(r.next());
  r.clear();
  EXPECT_FALSE(r.broken());
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(FrameReader, LargestFrameIsAccepted) {
  FrameReader r;
  r.feed(frame(Bytes(kMaxSpeculosFrame, 0x42)));
  auto apdu = r.next();
  ASSERT_TRUE(apdu);
  EXPECT_EQ(apdu->size(), kMaxSpeculosFrame);
}

}  // namespace
}  // namespace pisigner::ledger::emulator
