// The virtual Ledger's side of the Speculos APDU stream: request frames `u32 BE len || APDU`,
// back to back, cut anywhere by the socket. Pure (no I/O), so it can be tested and fuzzed alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "pisigner/bytes.hpp"

namespace pisigner::ledger::emulator {

// Speculos puts no bound on a frame; anything this large is not an APDU stream.
inline constexpr std::uint32_t kMaxSpeculosFrame = 65536;

// Not thread-safe: owned by the server loop, one per client.
class FrameReader {
 public:
  // Appends bytes as received. Ignored once broken().
  void feed(ByteView bytes);
  // The next complete APDU, or nullopt when more bytes are needed (or the stream is broken).
  std::optional<Bytes> next();
  // A frame announced more than kMaxSpeculosFrame bytes: the stream cannot be resynchronised and
  // the client should be dropped.
  bool broken() const { return broken_; }
  // Bytes received but not yet returned as an APDU.
  std::size_t buffered() const { return buffer_.size() - consumed_; }
  // Forgets everything (a new client).
  void clear();

 private:
  Bytes buffer_;
  std::size_t consumed_ = 0;  // bytes of buffer_ already returned; compacted lazily
  bool broken_ = false;
};

}  // namespace pisigner::ledger::emulator
