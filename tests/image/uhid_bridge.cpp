// pisigner-uhid-bridge: TEST IMAGES ONLY. Makes the kernel see a Ledger: a uhid device with the
// Ledger's USB ids and HID report descriptor, whose reports it relays to a Speculos-style APDU
// socket (pisigner-vledger on the host, forwarded into the guest by the image boot test).
// pisignerd then talks to it exactly as to a Ledger on USB: hidapi -> /dev/hidrawN -> hid core ->
// uhid, with the node's group from the packaged udev rule and the unit's DeviceAllow.
//   pisigner-uhid-bridge tcp://127.0.0.1:9999
// Runs until SIGTERM/SIGINT; the device disappears when it exits (closing /dev/uhid destroys it).
// The framing both ways is the project's own (HidReassembler for requests, encode_hid_message for
// replies), so a framing bug in pisigner_ledger shows here as it would with a real device.
#include <fcntl.h>
#include <linux/input.h>
#include <linux/uhid.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "pisigner/ledger/hid_framing.hpp"
#include "pisigner/ledger/protocol.hpp"
#include "pisigner/ledger/tcp_transport.hpp"

namespace {
using namespace pisigner;
using namespace pisigner::ledger;

// The Ledger's descriptor (LedgerHQ ledger-secure-sdk, usbd_hid_impl.c): vendor usage page 0xFFA0,
// one 64-byte input and one 64-byte output report, no report ids.
constexpr std::uint8_t kReportDescriptor[] = {
    0x06, 0xA0, 0xFF,        // Usage Page (0xFFA0)
    0x09, 0x01,              // Usage (1)
    0xA1, 0x01,              // Collection (Application)
    0x09, 0x03,              //   Usage (3): input
    0x15, 0x00, 0x26, 0xFF, 0x00, 0x75, 0x08, 0x95, 0x40,  // 0..255, 8 bits, 64 fields
    0x81, 0x08,              //   Input (Data, Var, Abs, Wrap)
    0x09, 0x04,              //   Usage (4): output
    0x15, 0x00, 0x26, 0xFF, 0x00, 0x75, 0x08, 0x95, 0x40,
    0x91, 0x08,              //   Output (Data, Var, Abs, Wrap)
    0xC0,                    // End Collection
};
constexpr std::uint32_t kNanoSPlusProductId = 0x5011;  // new-style id: model 0x50, HID interface
constexpr std::chrono::milliseconds kApduTimeout{20000};

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

bool write_event(int fd, const uhid_event& ev) {
  return ::write(fd, &ev, sizeof ev) == static_cast<ssize_t>(sizeof ev);
}

bool create_device(int fd) {
  uhid_event ev{};
  ev.type = UHID_CREATE2;
  auto& c = ev.u.create2;
  std::snprintf(reinterpret_cast<char*>(c.name), sizeof c.name, "Ledger Nano S Plus");
  std::snprintf(reinterpret_cast<char*>(c.phys), sizeof c.phys, "pisigner-uhid-bridge");
  std::snprintf(reinterpret_cast<char*>(c.uniq), sizeof c.uniq, "0001");
  std::memcpy(c.rd_data, kReportDescriptor, sizeof kReportDescriptor);
  c.rd_size = sizeof kReportDescriptor;
  c.bus = BUS_USB;
  c.vendor = kLedgerVendorId;
  c.product = kNanoSPlusProductId;
  return write_event(fd, ev);
}

// Raw APDU bytes (CLA INS P1 P2 Lc data) -> Apdu; nullopt when Lc does not match the length.
std::optional<Apdu> parse_apdu(const Bytes& m) {
  if (m.size() < 5 || m.size() != 5u + m[4]) return std::nullopt;
  return Apdu{m[0], m[1], m[2], m[3], Bytes(m.begin() + 5, m.end())};
}

class Bridge {
 public:
  Bridge(int uhid, std::string url) : uhid_(uhid), url_(std::move(url)) {}

  // One output report from the host (hidraw write). Returns false on a uhid write failure.
  bool on_output(const std::uint8_t* data, std::size_t size) {
    // hidraw passes the report id byte (0: unnumbered) in front of the 64 bytes.
    if (size == kHidReportSize + 1) ++data, --size;
    const auto st = reassembler_.push(ByteView(data, size));
    if (st == HidReassembler::Status::NeedMore) return true;
    if (st == HidReassembler::Status::Error) {
      std::fprintf(stderr, "uhid-bridge: bad request report: %s\n", reassembler_.error().c_str());
      reassembler_.reset();
      return true;
    }
    const Bytes request = reassembler_.message();
    reassembler_.reset();
    auto apdu = parse_apdu(request);
    if (!apdu) {
      std::fprintf(stderr, "uhid-bridge: malformed APDU %s\n", to_hex(request).c_str());
      return true;
    }
    auto reply = relay(*apdu);
    if (!reply) return true;  // no answer, as an unplugged device: the host times out
    Bytes message = reply->data;
    message.push_back(static_cast<std::uint8_t>(reply->sw >> 8));
    message.push_back(static_cast<std::uint8_t>(reply->sw));
    for (const auto& report : encode_hid_message(message)) {
      uhid_event ev{};
      ev.type = UHID_INPUT2;
      std::memcpy(ev.u.input2.data, report.data(), report.size());
      ev.u.input2.size = static_cast<std::uint16_t>(report.size());
      if (!write_event(uhid_, ev)) return false;
    }
    return true;
  }

 private:
  std::optional<Reply> relay(const Apdu& apdu) {
    if (!tcp_) {
      auto t = TcpTransport::connect(url_, std::chrono::milliseconds(2000));
      if (!t) {
        std::fprintf(stderr, "uhid-bridge: %s: %s\n", url_.c_str(), t.error().message.c_str());
        return std::nullopt;
      }
      tcp_ = std::move(t).value();
    }
    auto r = tcp_->exchange(apdu, kApduTimeout);
    if (!r) {
      std::fprintf(stderr, "uhid-bridge: %s: %s\n", url_.c_str(), r.error().message.c_str());
      tcp_.reset();
      return std::nullopt;
    }
    return std::move(r).value();
  }

  const int uhid_;
  const std::string url_;
  HidReassembler reassembler_;
  std::unique_ptr<TcpTransport> tcp_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || !parse_tcp_url(argv[1])) {
    std::fprintf(stderr, "usage: pisigner-uhid-bridge tcp://HOST:PORT (the virtual Ledger's APDU socket)\n");
    return 2;
  }
  struct sigaction sa{};
  sa.sa_handler = on_signal;  // no SA_RESTART: poll() returns EINTR and the loop sees g_stop
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  const int fd = ::open("/dev/uhid", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "uhid-bridge: /dev/uhid: %s\n", std::strerror(errno));
    return 1;
  }
  if (!create_device(fd)) {
    std::fprintf(stderr, "uhid-bridge: UHID_CREATE2: %s\n", std::strerror(errno));
    return 1;
  }
  std::printf("uhid-bridge: Ledger %04x:%04x created, relaying to %s\n", kLedgerVendorId, kNanoSPlusProductId, argv[1]);
  std::fflush(stdout);

  Bridge bridge(fd, argv[1]);
  int rc = 0;
  while (!g_stop) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, -1) < 0) continue;  // EINTR: the loop condition decides
    uhid_event ev{};
    const ssize_t n = ::read(fd, &ev, sizeof ev);
    if (n <= 0) {
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      std::fprintf(stderr, "uhid-bridge: read /dev/uhid: %s\n", n < 0 ? std::strerror(errno) : "end of file");
      rc = 1;
      break;
    }
    if (ev.type == UHID_OUTPUT && !bridge.on_output(ev.u.output.data, ev.u.output.size)) {
      std::fprintf(stderr, "uhid-bridge: write /dev/uhid: %s\n", std::strerror(errno));
      rc = 1;
      break;
    }
    // UHID_GET_REPORT / SET_REPORT: a Ledger has no feature reports; hidapi never asks for one here.
    if (ev.type == UHID_GET_REPORT || ev.type == UHID_SET_REPORT) {
      uhid_event r{};
      if (ev.type == UHID_GET_REPORT) {
        r.type = UHID_GET_REPORT_REPLY;
        r.u.get_report_reply.id = ev.u.get_report.id;
        r.u.get_report_reply.err = EIO;
      } else {
        r.type = UHID_SET_REPORT_REPLY;
        r.u.set_report_reply.id = ev.u.set_report.id;
        r.u.set_report_reply.err = EIO;
      }
      write_event(fd, r);
    }
  }
  uhid_event destroy{};
  destroy.type = UHID_DESTROY;
  write_event(fd, destroy);
  ::close(fd);
  std::printf("uhid-bridge: Ledger removed\n");
  return rc;
}
