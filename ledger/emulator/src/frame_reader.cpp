#include "pisigner/ledger/emulator/frame_reader.hpp"

namespace pisigner::ledger::emulator {

void FrameReader::feed(ByteView bytes) {
  if (broken_) return;
  // Compact before growing: a client streaming many small frames keeps the buffer short.
  if (consumed_ > 0 && consumed_ >= buffer_.size() / 2) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

std::optional<Bytes> FrameReader::next() {
  if (broken_ || buffered() < 4) return std::nullopt;
  const std::uint32_t len = read_be32(buffer_, consumed_);
  if (len > kMaxSpeculosFrame) {
    broken_ = true;
    return std::nullopt;
  }
  if (buffered() - 4 < len) return std::nullopt;
  const auto start = buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_ + 4);
  Bytes apdu(start, start + len);
  consumed_ += 4 + std::size_t{len};
  return apdu;
}

void FrameReader::clear() {
  buffer_.clear();
  consumed_ = 0;
  broken_ = false;
}

}  // namespace pisigner::ledger::emulator
