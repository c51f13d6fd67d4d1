// Helpers for the crypto tests only.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>

#include "pisigner/bytes.hpp"
#include "pisigner/crypto/hash.hpp"

namespace pisigner::crypto::test {

// Hex that must be valid (test data).
inline Bytes hex(std::string_view h) {
  auto b = from_hex(h);
  EXPECT_TRUE(b.has_value()) << "bad test hex: " << h;
  return b.value_or(Bytes{});
}

template <std::size_t N>
std::array<std::uint8_t, N> hex_array(std::string_view h) {
  Bytes b = hex(h);
  std::array<std::uint8_t, N> out{};
  EXPECT_EQ(b.size(), N) << h;
  std::copy_n(b.begin(), std::min(N, b.size()), out.begin());
  return out;
}

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Minimal base58check decoder so the tests can read Tezos addresses and keys without the
// tezos layer: returns the payload without its 4-byte checksum, nullopt on a bad checksum.
inline std::optional<Bytes> base58check_decode(std::string_view s) {
  static constexpr std::string_view kAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  Bytes num;  // big-endian, grows as digits are folded in
  for (char c : s) {
    auto d = kAlphabet.find(c);
    if (d == std::string_view::npos) return std::nullopt;
    unsigned carry = static_cast<unsigned>(d);
    for (auto it = num.rbegin(); it != num.rend(); ++it) {
      carry += 58u * *it;
      *it = static_cast<std::uint8_t>(carry);
      carry >>= 8;
    }
    while (carry) {
      num.insert(num.begin(), static_cast<std::uint8_t>(carry));
      carry >>= 8;
    }
  }
  std::size_t zeros = 0;
  while (zeros < s.size() && s[zeros] == '1') ++zeros;
  num.insert(num.begin(), zeros, 0);
  if (num.size() < 4) return std::nullopt;
  Bytes payload(num.begin(), num.end() - 4);
  Digest32 check = sha256d(payload);
  if (!std::equal(num.end() - 4, num.end(), check.begin())) return std::nullopt;
  return payload;
}

}  // namespace pisigner::crypto::test
