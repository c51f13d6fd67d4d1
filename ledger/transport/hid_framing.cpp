#include "pisigner/ledger/hid_framing.hpp"

#include <algorithm>
#include <cassert>

namespace pisigner::ledger {
namespace {
constexpr std::size_t kHeader = 5;        // channel(2) tag(1) seq(2)
constexpr std::size_t kFirstHeader = 7;   // + total length(2)

void put_header(HidReport& r, std::uint16_t channel, std::uint16_t seq) {
  r[0] = static_cast<std::uint8_t>(channel >> 8);
  r[1] = static_cast<std::uint8_t>(channel);
  r[2] = kHidTagApdu;
  r[3] = static_cast<std::uint8_t>(seq >> 8);
  r[4] = static_cast<std::uint8_t>(seq);
}
}  // namespace

std::vector<HidReport> encode_hid_message(ByteView message, std::uint16_t channel) {
  assert(message.size() <= 0xFFFF);
  std::vector<HidReport> out;
  std::size_t pos = 0;
  std::uint16_t seq = 0;
  do {
    HidReport r{};
    put_header(r, channel, seq);
    std::size_t off = kHeader;
    if (seq == 0) {
      r[5] = static_cast<std::uint8_t>(message.size() >> 8);
      r[6] = static_cast<std::uint8_t>(message.size());
      off = kFirstHeader;
    }
    std::size_t n = std::min(kHidReportSize - off, message.size() - pos);
    std::copy_n(message.begin() + static_cast<std::ptrdiff_t>(pos), n, r.begin() + static_cast<std::ptrdiff_t>(off));
    pos += n;
    out.push_back(r);
    ++seq;
  } while (pos < message.size());
  return out;
}

HidReassembler::Status HidReassembler::fail(std::string why) {
  error_ = std::move(why);
  status_ = Status::Error;
  return status_;
}

void HidReassembler::reset() {
  status_ = Status::NeedMore;
  next_seq_ = 0;
  expected_ = 0;
  message_.clear();
  error_.clear();
}

HidReassembler::Status HidReassembler::push(ByteView report) {
  if (status_ != Status::NeedMore) return status_;
  if (report.size() < kHidReportSize) {
    return fail("short HID report (" + std::to_string(report.size()) + " bytes)");
  }
  const std::uint16_t channel = read_be16(report, 0);
  if (channel != channel_) return fail("unexpected HID channel 0x" + to_hex(report.subspan(0, 2)));
  if (report[2] != kHidTagApdu) return fail("unexpected HID tag 0x" + to_hex(report.subspan(2, 1)));
  const std::uint16_t seq = read_be16(report, 3);
  if (seq != next_seq_) {
    return fail("unexpected sequence number (expected " + std::to_string(next_seq_) + ", got " +
                std::to_string(seq) + ")");
  }
  std::size_t off = kHeader;
  if (seq == 0) {
    expected_ = read_be16(report, 5);
    if (expected_ < 2 || expected_ > kMaxHidMessage) {
      return fail("implausible reply length " + std::to_string(expected_));
    }
    off = kFirstHeader;
  }
  const std::size_t n = std::min(kHidReportSize - off, expected_ - message_.size());
  message_.insert(message_.end(), report.begin() + static_cast<std::ptrdiff_t>(off),
                  report.begin() + static_cast<std::ptrdiff_t>(off + n));
  ++next_seq_;
  if (message_.size() == expected_) status_ = Status::Complete;
  return status_;
}

}  // namespace pisigner::ledger
