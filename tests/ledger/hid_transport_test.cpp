#include "pisigner/ledger/hid_transport.hpp"

#include <gtest/gtest.h>

#include "pisigner/ledger/fake_hid_device.hpp"
#include "pisigner/ledger/hid_framing.hpp"

namespace pisigner::ledger {
namespace {
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

std::vector<Bytes> frame(const Bytes& message, std::uint16_t channel = kHidChannel) {
  std::vector<Bytes> out;
  for (const auto& r : encode_hid_message(message, channel)) out.emplace_back(r.begin(), r.end());
  return out;
}

Bytes reply_message(std::size_t data_len, std::uint16_t sw) {
  Bytes m(data_len);
  for (std::size_t i = 0; i < data_len; ++i) m[i] = static_cast<std::uint8_t>(i);
  m.push_back(static_cast<std::uint8_t>(sw >> 8));
  m.push_back(static_cast<std::uint8_t>(sw));
  return m;
}

struct Fixture {
  FakeHidDevice* device = nullptr;
  std::unique_ptr<HidTransport> transport;
  Fixture() {
    auto d = std::make_unique<FakeHidDevice>();
    device = d.get();
    transport = std::make_unique<HidTransport>(std::move(d));
  }
};

const Apdu kVersion{kCla, 0x00, 0, 0, {}};

TEST(HidTransport, RequestIsFramedAndMultiPacketReplyDecoded) {
  Fixture f;
  f.device->set_responder([](ByteView) { return frame(reply_message(200, 0x9000)); });
  Apdu big{kCla, 0x04, 0x81, 0x00, Bytes(235, 0xAB)};
  auto r = f.transport->exchange(big, 1000ms);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->sw, 0x9000);
  Bytes expected = reply_message(200, 0x9000);
  expected.resize(200);
  EXPECT_EQ(r->data, expected);
  // The device saw the APDU as five 64-byte reports that reassemble to it.
  auto written = f.device->written();
  ASSERT_EQ(written.size(), 5u);
  HidReassembler req;
  for (const auto& w : written) {
    EXPECT_EQ(w.size(), 64u);
    req.push(w);
  }
  ASSERT_EQ(req.status(), HidReassembler::Status::Complete);
  EXPECT_EQ(req.message(), big.encode());
}

TEST(HidTransport, SilentDeviceTimesOutWithinTheDeadline) {
  Fixture f;
  const auto start = Steady::now();
  auto r = f.transport->exchange(kVersion, 150ms);
  const auto elapsed = Steady::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, TransportErrc::Timeout);
  EXPECT_GE(elapsed, 140ms);
  EXPECT_LT(elapsed, 1000ms);
}

TEST(HidTransport, DeviceThatStopsMidReplyTimesOut) {
  Fixture f;
  f.device->set_responder([](ByteView) {
    auto reports = frame(reply_message(200, 0x9000));
    reports.resize(2);
    return reports;
  });
  auto r = f.transport->exchange(kVersion, 150ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, TransportErrc::Timeout);
}

TEST(HidTransport, UnplugMidReplyIsDisconnected) {
  Fixture f;
  FakeHidDevice* dev = f.device;
  f.device->set_responder([dev](ByteView) {
    dev->unplug();  // the first packet is still delivered, then the device is gone
    auto reports = frame(reply_message(200, 0x9000));
    reports.resize(1);
    return reports;
  });
  auto r = f.transport->exchange(kVersion, 1000ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, TransportErrc::Disconnected);
  // And the next exchange fails fast the same way.
  auto again = f.transport->exchange(kVersion, 1000ms);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, TransportErrc::Disconnected);
}

TEST(HidTransport, GarbageReplyIsProtocolError) {
  Fixture f;
  f.device->set_responder([](ByteView) { return std::vector<Bytes>{Bytes(64, 0xEE)}; });
  auto r = f.transport->exchange(kVersion, 1000ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, TransportErrc::Protocol);
}

TEST(HidTransport, WrongChannelReplyIsProtocolError) {
  Fixture f;
  f.device->set_responder([](ByteView) { return frame(reply_message(4, 0x9000), 0x1234); });
  auto r = f.transport->exchange(kVersion, 1000ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, TransportErrc::Protocol);
}

TEST(HidTransport, StaleReportsFromAnEarlierExchangeAreDrained) {
  Fixture f;
  // A late reply to a request that timed out earlier.
  for (auto& r : frame(reply_message(10, 0x6A80))) f.device->queue_report(r);
  f.device->set_responder([](ByteView) { return frame(*from_hex("010205019000")); });
  auto r = f.transport->exchange(kVersion, 1000ms);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->sw, 0x9000);
  EXPECT_EQ(r->data, *from_hex("01020501"));
}

TEST(HidTransport, WritesCarryReportIdZero) {
  const Bytes report(64, 0x01);
  Bytes buf = with_report_id(report);
  ASSERT_EQ(buf.size(), 65u);
  EXPECT_EQ(buf[0], 0x00);
  EXPECT_EQ(Bytes(buf.begin() + 1, buf.end()), report);
}

TEST(HidEnumeration, RunsWithOrWithoutALedger) {
  auto found = enumerate_ledgers();
  for (const auto& d : found) {
    EXPECT_FALSE(d.path.empty());
    EXPECT_TRUE(d.interface_number == 0 || d.usage_page == kApduUsagePage);
  }
  auto opened = open_hid_device("/dev/does-not-exist-hidraw");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, TransportErrc::Disconnected);
  if (found.empty()) {
    auto t = open_hid_transport();
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, TransportErrc::Disconnected);
  }
}

}  // namespace
}  // namespace pisigner::ledger
