#include "pisigner/bytes.hpp"

#include <gtest/gtest.h>

using namespace pisigner;

TEST(Hex, RoundTripsAndAcceptsBothCases) {
  auto b = from_hex("00ffA0");
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, (Bytes{0x00, 0xff, 0xa0}));
  EXPECT_EQ(to_hex(*b), "00ffa0");
  EXPECT_EQ(from_hex("")->size(), 0u);
}

TEST(Hex, RejectsOddLengthAndNonHex) {
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
  EXPECT_FALSE(from_hex("0x00"));
  EXPECT_FALSE(from_hex("0 "));
}

TEST(BigEndian, ReadsAndWrites) {
  Bytes b;
  append_be32(b, 0x01020304);
  EXPECT_EQ(read_be32(b, 0), 0x01020304u);
  EXPECT_EQ(read_be16(b, 2), 0x0304u);
}
