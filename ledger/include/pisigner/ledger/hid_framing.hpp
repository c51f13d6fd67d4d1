// APDU-over-HID framing (Ledger "channel/tag/sequence" packets), as pure functions.
// Wire format: ledger/doc/protocol.md §1.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "pisigner/bytes.hpp"
#include "pisigner/ledger/protocol.hpp"

namespace pisigner::ledger {

using HidReport = std::array<std::uint8_t, kHidReportSize>;

// Largest message length a reply may declare; anything bigger is a framing error
// (a baking app reply is at most 255 data bytes + SW).
inline constexpr std::size_t kMaxHidMessage = 1024;

// Splits `message` (a raw APDU) into 64-byte reports: 5-byte header
// (channel BE, tag 0x05, sequence BE), total length BE in packet 0, zero padding.
// Precondition: message.size() <= 0xFFFF.
std::vector<HidReport> encode_hid_message(ByteView message, std::uint16_t channel = kHidChannel);

// Consumes reply reports one at a time and rebuilds the message (data || SW).
// Not thread-safe; reset() before each exchange.
class HidReassembler {
 public:
  enum class Status { NeedMore, Complete, Error };

  explicit HidReassembler(std::uint16_t channel = kHidChannel) : channel_(channel) {}

  // Feeds one report. After Complete or Error further pushes return the same status.
  // Error on: report shorter than 64 bytes, wrong channel, wrong tag, sequence gap,
  // declared length < 2 or > kMaxHidMessage.
  Status push(ByteView report);
  void reset();

  Status status() const { return status_; }
  // The complete message (valid after Complete).
  const Bytes& message() const { return message_; }
  // Why the last push failed (valid after Error).
  const std::string& error() const { return error_; }

 private:
  Status fail(std::string why);

  std::uint16_t channel_;
  Status status_ = Status::NeedMore;
  std::uint16_t next_seq_ = 0;
  std::size_t expected_ = 0;
  Bytes message_;
  std::string error_;
};

}  // namespace pisigner::ledger
