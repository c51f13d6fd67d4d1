#include "pisigner/ledger/hid_transport.hpp"

#include "pisigner/ledger/hid_framing.hpp"

#include <algorithm>

namespace pisigner::ledger {
namespace {
using std::chrono::milliseconds;

TransportError err(TransportErrc c, std::string m) { return TransportError{c, std::move(m)}; }

// Bounded so a device that keeps streaming cannot stall an exchange forever.
constexpr int kMaxStaleReports = 64;
}  // namespace

HidTransport::HidTransport(std::unique_ptr<HidDevice> device, Clock& clock)
    : device_(std::move(device)), clock_(clock) {}

std::string HidTransport::describe() const { return "hid:" + device_->path(); }

Result<Reply, TransportError> HidTransport::exchange(const Apdu& apdu, milliseconds timeout) {
  const auto start = clock_.now();
  if (auto s = send(apdu, timeout); !s) return fail(std::move(s).error());
  const auto left = std::chrono::duration_cast<milliseconds>(start + timeout - clock_.now());
  return receive(std::max(left, milliseconds(0)));
}

Result<void, TransportError> HidTransport::send(const Apdu& apdu, milliseconds) {
  // A reply left over from an exchange that timed out would be taken for this one's.
  for (int i = 0;; ++i) {
    HidRead r = device_->read(milliseconds(0));
    if (r.kind == HidRead::Kind::Timeout) break;
    if (r.kind == HidRead::Kind::Gone) return fail(err(TransportErrc::Disconnected, r.message));
    if (i >= kMaxStaleReports) return fail(err(TransportErrc::Protocol, "device keeps sending unsolicited reports"));
  }
  const Bytes raw = apdu.encode();
  for (const HidReport& report : encode_hid_message(raw)) {
    auto w = device_->write(report);
    if (!w) return fail(std::move(w).error());
  }
  return {};
}

Result<Reply, TransportError> HidTransport::receive(milliseconds timeout) {
  const auto deadline = clock_.now() + timeout;
  HidReassembler reassembler;
  while (true) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_.now());
    if (left.count() <= 0) {
      return fail(err(TransportErrc::Timeout, "no reply from the Ledger within " + std::to_string(timeout.count()) + " ms"));
    }
    HidRead r = device_->read(left);
    if (r.kind == HidRead::Kind::Gone) return fail(err(TransportErrc::Disconnected, r.message));
    if (r.kind == HidRead::Kind::Timeout) continue;  // loop re-checks the deadline
    switch (reassembler.push(r.data)) {
      case HidReassembler::Status::NeedMore: continue;
      case HidReassembler::Status::Error: return fail(err(TransportErrc::Protocol, reassembler.error()));
      case HidReassembler::Status::Complete: {
        const Bytes& m = reassembler.message();
        Reply reply;
        reply.data.assign(m.begin(), m.end() - 2);
        reply.sw = read_be16(m, m.size() - 2);
        return reply;
      }
    }
  }
}

Result<std::unique_ptr<Transport>, TransportError> open_hid_transport(const std::string& path) {
  std::string target = path;
  if (target.empty()) {
    auto found = enumerate_ledgers();
    if (found.empty()) return fail(err(TransportErrc::Disconnected, "no Ledger found on USB"));
    target = found.front().path;
  }
  auto dev = open_hid_device(target);
  if (!dev) return fail(std::move(dev).error());
  return std::unique_ptr<Transport>(std::make_unique<HidTransport>(std::move(*dev)));
}

}  // namespace pisigner::ledger
