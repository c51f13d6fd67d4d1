// APDU-over-HID reply reassembly (ledger/doc/protocol.md §1): reports as a device might send them.
// Input: byte 0 picks the cut. Even: the rest in 64-byte reports (the last may be short). Odd: the
// rest as records `len || bytes`, so reports of every length arrive.
// The same reports then answer an exchange of HidTransport over a scripted device.
// Properties: nothing crashes; Complete only with the declared length's message, which the encoder
// turns back into reports that reassemble to the same message; a finished reassembler stays so; the
// transport returns that message as data || SW, or an error (never hangs: its clock is manual).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_check.hpp"
#include "pisigner/clock.hpp"
#include "pisigner/ledger/hid_device.hpp"
#include "pisigner/ledger/hid_framing.hpp"
#include "pisigner/ledger/hid_transport.hpp"

using namespace pisigner;
using namespace pisigner::ledger;

namespace {
std::vector<ByteView> cut(const std::uint8_t* data, std::size_t size, bool records) {
  std::vector<ByteView> out;
  std::size_t i = 0;
  while (i < size) {
    std::size_t n = records ? data[i++] : kHidReportSize;
    n = std::min(n, size - i);
    out.emplace_back(data + i, n);
    i += n;
  }
  return out;
}

// Answers the request's last report with the fuzzed reports; an empty read costs a second of
// manual time, so the transport's deadline passes without waiting.
class ScriptedDevice final : public HidDevice {
 public:
  ScriptedDevice(std::vector<ByteView> replies, ManualClock& clock) : replies_(std::move(replies)), clock_(clock) {}
  Result<void, TransportError> write(ByteView report) override {
    FUZZ_CHECK(report.size() == kHidReportSize);
    armed_ = true;
    return {};
  }
  HidRead read(std::chrono::milliseconds) override {
    if (!armed_ || next_ >= replies_.size()) {
      clock_.advance(std::chrono::seconds(1));
      return HidRead{HidRead::Kind::Timeout, {}, {}};
    }
    ByteView r = replies_[next_++];
    return HidRead{HidRead::Kind::Data, Bytes(r.begin(), r.end()), {}};
  }
  std::string path() const override { return "fuzz"; }

 private:
  std::vector<ByteView> replies_;
  ManualClock& clock_;
  std::size_t next_ = 0;
  bool armed_ = false;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  HidReassembler r;
  HidReassembler::Status s = HidReassembler::Status::NeedMore;
  const std::vector<ByteView> reports = cut(data + 1, size - 1, data[0] & 1);
  for (ByteView report : reports) {
    s = r.push(report);
    if (s != HidReassembler::Status::NeedMore) {
      // Further pushes keep the outcome.
      FUZZ_CHECK(r.push(report) == s);
      break;
    }
  }
  FUZZ_CHECK(r.status() == s);
  if (s == HidReassembler::Status::Error) FUZZ_CHECK(!r.error().empty());
  if (s == HidReassembler::Status::Complete) {
    const Bytes& m = r.message();
    FUZZ_CHECK(m.size() >= 2 && m.size() <= kMaxHidMessage);
    HidReassembler again;
    HidReassembler::Status t = HidReassembler::Status::NeedMore;
    for (const HidReport& rep : encode_hid_message(m)) t = again.push(rep);
    FUZZ_CHECK(t == HidReassembler::Status::Complete && again.message() == m);
  }
  const Bytes message = s == HidReassembler::Status::Complete ? r.message() : Bytes{};
  r.reset();
  FUZZ_CHECK(r.status() == HidReassembler::Status::NeedMore && r.message().empty());

  ManualClock clock;
  HidTransport transport(std::make_unique<ScriptedDevice>(reports, clock), clock);
  auto reply = transport.exchange(Apdu{0x80, 0x00, 0, 0, {}}, std::chrono::milliseconds(3000));
  if (s == HidReassembler::Status::Complete) {
    FUZZ_CHECK(reply.ok());
    Bytes m = reply->data;
    m.push_back(static_cast<std::uint8_t>(reply->sw >> 8));
    m.push_back(static_cast<std::uint8_t>(reply->sw));
    FUZZ_CHECK(m == message);
  } else {
    FUZZ_CHECK(!reply.ok());
  }
  return 0;
}
