// Which Ledger a key's `device` setting names: "hid" (the first on USB), a USB serial number, or
// "tcp://host:port". Selection is a pure function of the enumeration, tested here without hidapi.
#include <gtest/gtest.h>

#include "pisigner/ledger/device_spec.hpp"

namespace pisigner::ledger {
namespace {

HidDeviceInfo ledger_at(std::string path, std::string serial) {
  HidDeviceInfo d;
  d.path = std::move(path);
  d.serial = std::move(serial);
  d.product = "Nano S Plus";
  return d;
}

const std::vector<HidDeviceInfo> kTwo = {ledger_at("/dev/hidraw3", "0001"), ledger_at("/dev/hidraw5", "4C3A9")};

TEST(DeviceSpec, TcpSpecsAreRecognisedByTheirScheme) {
  EXPECT_TRUE(is_tcp_spec("tcp://127.0.0.1:9999"));
  EXPECT_TRUE(is_tcp_spec("tcp://[::1]:9999"));
  EXPECT_FALSE(is_tcp_spec("hid"));
  EXPECT_FALSE(is_tcp_spec("0001"));
  EXPECT_FALSE(is_tcp_spec("tcp:/127.0.0.1:9999"));
  EXPECT_FALSE(is_tcp_spec("TCP://127.0.0.1:9999"));
  EXPECT_FALSE(is_tcp_spec(""));
}

TEST(DeviceSpec, HidTakesTheFirstLedgerEnumerated) {
  auto path = select_hid_path(kTwo, "hid");
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(*path, "/dev/hidraw3");
}

TEST(DeviceSpec, ASerialSelectsThatLedgerWhereverItIsEnumerated) {
  auto second = select_hid_path(kTwo, "4C3A9");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(*second, "/dev/hidraw5");
  auto first = select_hid_path(kTwo, "0001");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(*first, "/dev/hidraw3");
}

TEST(DeviceSpec, TwoLedgersWithOneSerialGiveTheFirstEnumerated) {
  const std::vector<HidDeviceInfo> same = {ledger_at("/dev/hidraw2", "0001"), ledger_at("/dev/hidraw7", "0001")};
  auto path = select_hid_path(same, "0001");
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(*path, "/dev/hidraw2");
}

TEST(DeviceSpec, AnUnknownSerialIsDisconnectedAndNamesTheSerialsSeen) {
  auto path = select_hid_path(kTwo, "0002");
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().code, TransportErrc::Disconnected);
  EXPECT_NE(path.error().message.find("no Ledger with serial 0002"), std::string::npos) << path.error().message;
  EXPECT_NE(path.error().message.find("0001, 4C3A9"), std::string::npos) << path.error().message;
}

TEST(DeviceSpec, ASerialIsMatchedWholeAndExactly) {
  EXPECT_FALSE(select_hid_path(kTwo, "4c3a9"));
  EXPECT_FALSE(select_hid_path(kTwo, "4C3A"));
  EXPECT_FALSE(select_hid_path(kTwo, ""));
  const std::vector<HidDeviceInfo> no_serial = {ledger_at("/dev/hidraw1", "")};
  auto path = select_hid_path(no_serial, "0001");
  ASSERT_FALSE(path);
  EXPECT_NE(path.error().message.find("(none)"), std::string::npos) << path.error().message;
}

TEST(DeviceSpec, NoLedgerOnUsbIsDisconnectedForEverySpec) {
  for (const char* spec : {"hid", "0001"}) {
    auto path = select_hid_path({}, spec);
    ASSERT_FALSE(path) << spec;
    EXPECT_EQ(path.error().code, TransportErrc::Disconnected);
    EXPECT_NE(path.error().message.find("no Ledger found on USB"), std::string::npos) << path.error().message;
  }
}

}  // namespace
}  // namespace pisigner::ledger
