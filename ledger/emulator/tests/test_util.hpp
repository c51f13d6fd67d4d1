// Builders for APDUs and baking messages, and a base58check decoder, for the vledger tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pisigner/bytes.hpp"
#include "pisigner/crypto/hash.hpp"
#include "pisigner/ledger/emulator/app_model.hpp"

namespace vledger_test {

using pisigner::Bytes;

inline const std::vector<std::uint32_t> kTezosPath = {0x8000002C, 0x800006C1, 0x80000000, 0x80000000};
inline constexpr std::uint32_t kMainnet = 0x7A06A770;
inline constexpr std::uint32_t kOtherChain = 0x7A06A770 ^ 0x01010101;  // any chain but the main one

inline Bytes apdu(std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, const Bytes& data) {
  // Sized up front: GCC 12 reports a false -Warray-bounds for insert() into a 5-byte vector.
  Bytes out(5 + data.size());
  out[0] = 0x80;
  out[1] = ins;
  out[2] = p1;
  out[3] = p2;
  out[4] = static_cast<std::uint8_t>(data.size());
  std::copy(data.begin(), data.end(), out.begin() + 5);
  return out;
}

inline Bytes path_bytes(const std::vector<std::uint32_t>& path) {
  Bytes out{static_cast<std::uint8_t>(path.size())};
  for (auto c : path) pisigner::append_be32(out, c);
  return out;
}

inline Bytes be32(std::uint32_t v) {
  Bytes out;
  pisigner::append_be32(out, v);
  return out;
}

// Tenderbake block header prefix as the app parses it; `locked_round` adds the 4-byte option.
inline Bytes block(std::uint32_t chain, std::uint32_t level, std::uint32_t round, bool locked_round = false) {
  Bytes m{0x11};
  pisigner::append_be32(m, chain);
  pisigner::append_be32(m, level);
  m.push_back(1);                       // proto
  m.insert(m.end(), 32, 0xAA);          // predecessor
  m.insert(m.end(), 8, 0x00);           // timestamp
  m.push_back(4);                       // validation passes
  m.insert(m.end(), 32, 0xBB);          // operations hash
  pisigner::append_be32(m, locked_round ? 37 : 33);
  pisigner::append_be32(m, 1);
  m.push_back(2);                       // fitness version: Tenderbake
  pisigner::append_be32(m, 4);
  pisigner::append_be32(m, level);
  if (locked_round) {
    pisigner::append_be32(m, 4);
    pisigner::append_be32(m, 0);
  } else {
    pisigner::append_be32(m, 0);
  }
  pisigner::append_be32(m, 4);
  pisigner::append_be32(m, round > 0 ? round - 1 : 0);  // predecessor round
  pisigner::append_be32(m, 4);
  pisigner::append_be32(m, round);
  m.insert(m.end(), 40, 0xCC);          // rest of the header, ignored
  return m;
}

inline Bytes consensus(std::uint8_t magic, std::uint32_t chain, std::uint32_t level, std::uint32_t round) {
  Bytes m{magic};
  pisigner::append_be32(m, chain);
  m.insert(m.end(), 32, 0xDD);  // branch
  m.push_back(magic == 0x12 ? 20 : 21);  // op tag
  m.push_back(0);
  m.push_back(7);  // slot
  pisigner::append_be32(m, level);
  pisigner::append_be32(m, round);
  m.insert(m.end(), 32, 0xEE);  // payload hash
  return m;
}
inline Bytes preattestation(std::uint32_t chain, std::uint32_t level, std::uint32_t round) {
  return consensus(0x12, chain, level, round);
}
inline Bytes attestation(std::uint32_t chain, std::uint32_t level, std::uint32_t round) {
  return consensus(0x13, chain, level, round);
}

// base58check decode; nullopt on a bad character or checksum. Returns prefix || payload.
inline std::optional<Bytes> base58check_decode(std::string_view text) {
  static constexpr std::string_view kAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  Bytes num;
  for (char ch : text) {
    auto d = kAlphabet.find(ch);
    if (d == std::string_view::npos) return std::nullopt;
    unsigned carry = static_cast<unsigned>(d);
    for (auto it = num.rbegin(); it != num.rend(); ++it) {
      carry += 58u * *it;
      *it = static_cast<std::uint8_t>(carry);
      carry >>= 8;
    }
    for (; carry; carry >>= 8) num.insert(num.begin(), static_cast<std::uint8_t>(carry));
  }
  for (std::size_t i = 0; i < text.size() && text[i] == '1'; ++i) num.insert(num.begin(), 0);
  if (num.size() < 4) return std::nullopt;
  Bytes body(num.begin(), num.end() - 4);
  auto check = pisigner::crypto::sha256d(body);
  if (!std::equal(check.begin(), check.begin() + 4, num.end() - 4)) return std::nullopt;
  return body;
}

}  // namespace vledger_test
