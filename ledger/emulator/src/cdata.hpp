// Reading an APDU's data field the way the app's handlers do (SDK buffer_t + read_bip32_path).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "pisigner/bytes.hpp"

namespace pisigner::ledger::emulator {

inline constexpr std::size_t kMaxBip32Path = 10;  // SDK MAX_BIP32_PATH

class Cdata {
 public:
  explicit Cdata(ByteView b) : b_(b) {}

  std::optional<std::uint32_t> u32() {
    if (remaining() < 4) return std::nullopt;
    std::uint32_t v = read_be32(b_, off_);
    off_ += 4;
    return v;
  }
  // `N || N x u32 BE`, 1 <= N <= 10 (SDK bip32_path_read refuses 0 and > 10).
  std::optional<std::vector<std::uint32_t>> bip32_path() {
    if (remaining() < 1) return std::nullopt;
    std::size_t n = b_[off_];
    if (n == 0 || n > kMaxBip32Path || remaining() - 1 < 4 * n) return std::nullopt;
    ++off_;
    std::vector<std::uint32_t> path;
    for (std::size_t i = 0; i < n; ++i, off_ += 4) path.push_back(read_be32(b_, off_));
    return path;
  }
  ByteView rest() const { return b_.subspan(off_); }
  bool at_end() const { return off_ == b_.size(); }
  std::size_t remaining() const { return b_.size() - off_; }

 private:
  ByteView b_;
  std::size_t off_ = 0;
};

}  // namespace pisigner::ledger::emulator
