#include "pisigner/result.hpp"

#include <gtest/gtest.h>

#include <memory>

using namespace pisigner;

namespace {
Result<int, Error> half(int x) {
  if (x % 2) return fail(Error{"odd"});
  return x / 2;
}
Result<void, Error> check(bool good) {
  if (!good) return fail(Error{"bad"});
  return {};
}
}  // namespace

TEST(Result, CarriesValueOrError) {
  auto a = half(4);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 2);
  auto b = half(3);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().message, "odd");
  EXPECT_TRUE(check(true));
  EXPECT_EQ(check(false).error().message, "bad");
}

TEST(Result, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>, Error> r(std::make_unique<int>(7));
  auto p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}
