#include "pisigner/tezos/base58.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "pisigner/crypto/hash.hpp"
#include "prefixes.hpp"

namespace pisigner::tezos {

namespace {

constexpr std::string_view kAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::size_t kChecksumSize = 4;

constexpr bool table_is_complete() {
  for (std::size_t i = 0; i < detail::kPrefixes.size(); ++i) {
    if (static_cast<std::size_t>(detail::kPrefixes[i].prefix) != i) return false;
  }
  return true;
}
static_assert(table_is_complete(), "kPrefixes must list every Prefix in declaration order");

constexpr std::array<std::int8_t, 128> make_reverse() {
  std::array<std::int8_t, 128> r{};
  for (auto& v : r) v = -1;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) r[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return r;
}
constexpr auto kReverse = make_reverse();

// Secret keys pass through these buffers, so they are wiped before release.
void wipe(Bytes& b) {
  if (!b.empty()) sodium_memzero(b.data(), b.size());
}

std::array<std::uint8_t, kChecksumSize> checksum(ByteView data) {
  auto d = crypto::sha256d(data);
  std::array<std::uint8_t, kChecksumSize> out{};
  std::copy_n(d.begin(), kChecksumSize, out.begin());
  return out;
}

// Decodes and strips the checksum; the result is prefix || payload.
Result<Bytes, TezosError> decode_checked(std::string_view text) {
  if (text.empty()) return fail(TezosError{"empty base58check string"});
  if (text.size() > kMaxBase58Length) return fail(TezosError{"base58check string too long"});
  auto raw = base58_decode(text);
  if (!raw) return fail(TezosError{"invalid base58 character"});
  if (raw->size() < kChecksumSize + 1) {
    wipe(*raw);
    return fail(TezosError{"base58check string too short"});
  }
  ByteView body(raw->data(), raw->size() - kChecksumSize);
  auto sum = checksum(body);
  if (sodium_memcmp(sum.data(), raw->data() + body.size(), kChecksumSize) != 0) {
    wipe(*raw);
    return fail(TezosError{"invalid base58check checksum"});
  }
  raw->resize(body.size());
  return std::move(*raw);
}

bool has_prefix(ByteView data, const detail::PrefixInfo& p) {
  return data.size() >= p.length && std::equal(p.bytes.begin(), p.bytes.begin() + static_cast<std::ptrdiff_t>(p.length), data.begin());
}

Result<std::pair<Prefix, Bytes>, TezosError> decode_any(std::span<const Prefix> candidates, std::string_view text,
                                                        std::string unknown_prefix_message) {
  auto decoded = decode_checked(text);
  if (!decoded) return fail(std::move(decoded).error());
  Bytes& raw = *decoded;
  // Prefixes are not prefix-free on their own (edsk has two), so the length decides too.
  const detail::PrefixInfo* wrong_length = nullptr;
  for (Prefix c : candidates) {
    const auto& p = detail::info(c);
    if (!has_prefix(raw, p)) continue;
    if (raw.size() != p.length + p.payload) {
      wrong_length = &p;
      continue;
    }
    Bytes payload(raw.begin() + static_cast<std::ptrdiff_t>(p.length), raw.end());
    wipe(raw);
    return std::pair<Prefix, Bytes>{c, std::move(payload)};
  }
  wipe(raw);
  if (wrong_length != nullptr) {
    return fail(TezosError{"invalid length for " + std::string(wrong_length->name) + ": expected " +
                           std::to_string(wrong_length->payload) + " bytes"});
  }
  return fail(TezosError{std::move(unknown_prefix_message)});
}

}  // namespace

std::size_t payload_size(Prefix p) { return detail::info(p).payload; }
std::string_view prefix_name(Prefix p) { return detail::info(p).name; }

std::string base58_encode(ByteView data) {
  std::size_t zeros = 0;
  while (zeros < data.size() && data[zeros] == 0) ++zeros;
  // The number in limbs of base 58^5 (least significant first), fed three bytes at a time: 15 times
  // fewer steps than one byte into one digit, and limb * 2^24 + carry still fits in 64 bits. A
  // signature is encoded on every request.
  constexpr std::uint64_t kLimb = 58ull * 58 * 58 * 58 * 58;
  std::vector<std::uint32_t> limbs;
  limbs.reserve((data.size() - zeros) * 137 / 500 + 2);
  for (std::size_t i = zeros; i < data.size();) {
    const std::size_t take = std::min<std::size_t>(3, data.size() - i);
    std::uint64_t carry = 0;
    for (std::size_t k = 0; k < take; ++k) carry = (carry << 8) | data[i + k];
    const std::uint64_t scale = 1ull << (8 * take);
    i += take;
    for (auto& limb : limbs) {
      const std::uint64_t x = limb * scale + carry;
      limb = static_cast<std::uint32_t>(x % kLimb);
      carry = x / kLimb;
    }
    for (; carry != 0; carry /= kLimb) limbs.push_back(static_cast<std::uint32_t>(carry % kLimb));
  }
  std::string out(zeros, '1');
  out.reserve(zeros + limbs.size() * 5);
  bool leading = true;  // the top limb's leading zero digits are not written
  for (auto it = limbs.rbegin(); it != limbs.rend(); ++it) {
    char five[5];
    std::uint32_t v = *it;
    for (int d = 4; d >= 0; --d, v /= 58) five[d] = kAlphabet[v % 58];
    for (char c : five) {
      if (leading && c == kAlphabet[0]) continue;
      leading = false;
      out.push_back(c);
    }
  }
  sodium_memzero(limbs.data(), limbs.size() * sizeof(std::uint32_t));
  return out;
}

std::optional<Bytes> base58_decode(std::string_view text) {
  if (text.size() > kMaxBase58Length) return std::nullopt;
  std::size_t ones = 0;
  while (ones < text.size() && text[ones] == '1') ++ones;
  // log(58)/log(256) < 0.733: enough bytes for the rest.
  Bytes bytes((text.size() - ones) * 733 / 1000 + 1, 0);
  std::size_t used = 0;
  for (std::size_t i = ones; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= kReverse.size() || kReverse[c] < 0) {
      wipe(bytes);
      return std::nullopt;
    }
    std::uint32_t carry = static_cast<std::uint32_t>(kReverse[c]);
    std::size_t j = 0;
    for (auto it = bytes.rbegin(); (carry != 0 || j < used) && it != bytes.rend(); ++it, ++j) {
      carry += 58u * *it;
      *it = static_cast<std::uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    used = j;
  }
  Bytes out(ones, 0);
  out.insert(out.end(), bytes.end() - static_cast<std::ptrdiff_t>(used), bytes.end());
  wipe(bytes);
  return out;
}

std::string b58check_encode(Prefix prefix, ByteView payload) {
  const auto& p = detail::info(prefix);
  Bytes buf(p.bytes.begin(), p.bytes.begin() + static_cast<std::ptrdiff_t>(p.length));
  buf.insert(buf.end(), payload.begin(), payload.end());
  auto sum = checksum(buf);
  buf.insert(buf.end(), sum.begin(), sum.end());
  std::string out = base58_encode(buf);
  wipe(buf);
  return out;
}

Result<Bytes, TezosError> b58check_decode(Prefix prefix, std::string_view text) {
  const Prefix one[] = {prefix};
  auto r = decode_any(one, text, "wrong base58check prefix: expected " + std::string(prefix_name(prefix)));
  if (!r) return fail(std::move(r).error());
  return std::move(r->second);
}

Result<std::pair<Prefix, Bytes>, TezosError> b58check_decode_any(std::span<const Prefix> candidates,
                                                                 std::string_view text, std::string_view what) {
  return decode_any(candidates, text, "unknown " + std::string(what) + " prefix");
}

}  // namespace pisigner::tezos
