// The admin API as a pure function of the request, with router-style bad-input cases: every
// malformed request gets a 4xx JSON error naming the problem and never reaches the device.
// The Ledger here is never connected: a well-formed request reaches it and fails "unavailable".
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "pisigner/crypto/hd.hpp"
#include "pisigner/http/admin_router.hpp"

namespace pisigner::http {
namespace {

using nlohmann::json;

constexpr const char* kZebraTz1 = "tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E";
constexpr const char* kUnconfiguredTz1 = "tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx";

struct AdminHarness {
  AdminHarness() {
    ledger::DeviceWorkerConfig wc;
    wc.path = crypto::parse_path("m/44'/1729'/0'/0'").value();
    auto worker = std::make_shared<ledger::DeviceWorker>(
        wc,
        [] {
          return Result<std::unique_ptr<ledger::Transport>, ledger::TransportError>(
              fail(ledger::TransportError{ledger::TransportErrc::Disconnected, "no Ledger in this test"}));
        },
        clock, timers);
    key = std::make_unique<keys::LedgerKey>(worker, ledger::DerivationType::Ed25519, wc.path,
                                            tezos::PublicKeyHash::parse(kZebraTz1).value(), std::chrono::milliseconds(500),
                                            true);
    auto dev = std::make_unique<devices::LedgerDevice>();
    dev->spec = "hid";
    dev->worker = worker;
    dev->keys.push_back(key.get());
    devices.push_back(std::move(dev));
  }
  Response call(const std::string& method, const std::string& target, const std::string& body = "") {
    return router.handle(Request{method, target, "application/json", body});
  }

  ManualClock clock;  // never moves: the worker tries to open its device once
  std::shared_ptr<PeriodicWorker> timers = std::make_shared<PeriodicWorker>(clock);
  std::unique_ptr<keys::LedgerKey> key;
  devices::LedgerDevices devices;
  std::vector<ledger::HidDeviceInfo> usb;
  AdminRouter router{&devices, [this] { return usb; }};
};

// The reply is JSON whatever went wrong; returns its "error" text.
std::string error_of(const Response& r) {
  EXPECT_EQ(r.content_type, "application/json");
  json j = json::parse(r.body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.body;
  if (j.is_discarded() || !j.contains("error")) return "";
  return j["error"].get<std::string>();
}

std::string header(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(AdminRouter, UnknownRoutesAre404EvenWhenThePathIsNotUtf8) {
  AdminHarness h;
  for (const auto& target : std::vector<std::string>{"/", "/ledger/", "/ledger/nope", "/keys/tz1", "/ledger/\xff",
                                                     "/ledger/\xc3(", std::string("/ledger/\0x", 9)}) {
    SCOPED_TRACE(target);
    for (const char* method : {"GET", "POST"}) {
      auto r = h.call(method, target, "{}");
      EXPECT_EQ(r.status, 404);
      EXPECT_NE(error_of(r).find("unknown admin route"), std::string::npos) << r.body;
    }
  }
}

TEST(AdminRouter, AKnownRouteWithTheWrongMethodIs405NamingTheRightOne) {
  AdminHarness h;
  struct Case {
    const char* method;
    const char* target;
    const char* allow;
  };
  for (const auto& c : {Case{"POST", "/ledger", "GET"}, Case{"DELETE", "/ledger", "GET"},
                        Case{"PUT", "/ledger/devices", "GET"}, Case{"GET", "/ledger/authorize", "POST"},
                        Case{"GET", "/ledger/setup", "POST"}, Case{"HEAD", "/ledger/deauthorize", "POST"},
                        Case{"PATCH", "/ledger/reset-hwm", "POST"}, Case{"G\xffT", "/ledger", "GET"}}) {
    SCOPED_TRACE(std::string(c.method) + " " + c.target);
    auto r = h.call(c.method, c.target, R"({"pkh":"tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E"})");
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(header(r, "Allow"), c.allow);
    EXPECT_NE(error_of(r).find(std::string("use ") + c.allow), std::string::npos) << r.body;
  }
}

struct BadBody {
  const char* target;
  std::string body;
  int status;
  std::string error;  // a part of the error text
};

TEST(AdminRouter, MalformedBodiesAre400AndNeverReachTheDevice) {
  AdminHarness h;
  const std::string z = kZebraTz1;
  const std::vector<BadBody> cases = {
      // Not JSON, not UTF-8, not an object.
      {"/ledger/authorize", "", 400, "body is not JSON"},
      {"/ledger/authorize", "{", 400, "body is not JSON"},
      {"/ledger/authorize", "{\"pkh\":\"" + z + "\"} trailing", 400, "body is not JSON"},
      {"/ledger/authorize", "{\"pkh\":\"tz1\xff\"}", 400, "body is not JSON (or not UTF-8)"},
      {"/ledger/authorize", "\"" + z + "\"", 400, "body must be a JSON object"},
      {"/ledger/authorize", "[\"" + z + "\"]", 400, "body must be a JSON object"},
      {"/ledger/authorize", "null", 400, "body must be a JSON object"},
      // Missing, extra or mistyped fields.
      {"/ledger/authorize", "{}", 400, "missing field \"pkh\""},
      {"/ledger/deauthorize", "{\"PKH\":\"" + z + "\"}", 400, "unknown field \"PKH\""},
      {"/ledger/authorize", "{\"pkh\":\"" + z + "\",\"force\":true}", 400, "unknown field \"force\""},
      {"/ledger/deauthorize", "{\"pkh\":\"" + z + "\",\"level\":5}", 400, "unknown field \"level\""},
      {"/ledger/authorize", "{\"pkh\":5}", 400, "\"pkh\" must be a string"},
      {"/ledger/authorize", "{\"pkh\":null}", 400, "\"pkh\" must be a string"},
      {"/ledger/authorize", "{\"pkh\":[\"" + z + "\"]}", 400, "\"pkh\" must be a string"},
      // A pkh that is not a key hash.
      {"/ledger/authorize", "{\"pkh\":\"\"}", 400, "pkh: "},
      {"/ledger/authorize", "{\"pkh\":\"tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6F\"}", 400, "pkh: "},
      {"/ledger/authorize", "{\"pkh\":\"edpkuBknW28nW72KG6RoHtYW7p12T6GKc7nAbwYX5m8Wd9sDVC9yav\"}", 400, "pkh: "},
      {"/ledger/authorize", "{\"pkh\":\"tz1\\u00ff\"}", 400, "pkh: "},
      // setup: every field required, levels in 0..2^31-1, a chain id.
      {"/ledger/setup", "{\"pkh\":\"" + z + "\",\"chain\":\"NetXdQprcVkpaWU\",\"main_level\":1}", 400,
       "missing field \"test_level\""},
      {"/ledger/setup", "{\"pkh\":\"" + z + "\",\"main_level\":1,\"test_level\":1}", 400, "missing field \"chain\""},
      {"/ledger/setup", "{\"pkh\":\"" + z + "\",\"chain\":\"NetXdQprcVkpaWU\",\"main_level\":-1,\"test_level\":0}", 400,
       "\"main_level\" must be an integer from 0 to 2147483647"},
      {"/ledger/setup", "{\"pkh\":\"" + z + "\",\"chain\":\"NetXdQprcVkpaWU\",\"main_level\":2147483648,\"test_level\":0}",
       400, "\"main_level\" must be an integer from 0 to 2147483647"},
      {"/ledger/setup", "{\"pkh\":\"" + z + "\",\"chain\":\"NetXdQprcVkpaWU\",\"main_level\":1.5,\"test_level\":0}", 400,
       "\"main_level\" must be an integer"},
      {"/ledger/setup", "{\"pkh\":\"" + z + "\",\"chain\":\"NetXdQprcVkpaWU\",\"main_level\":\"5\",\"test_level\":0}", 400,
       "\"main_level\" must be an integer"},
      {"/ledger/setup", "{\"pkh\":\"" + z + "\",\"chain\":\"NetXdQprcVkpaWU\",\"main_level\":0,\"test_level\":true}", 400,
       "\"test_level\" must be an integer"},
      {"/ledger/setup", "{\"pkh\":\"" + z + "\",\"chain\":\"NetXdQprcVkpaWU\",\"main_level\":0,\"test_level\":null}", 400,
       "\"test_level\" must be an integer"},
      {"/ledger/setup", "{\"pkh\":\"" + z + "\",\"chain\":\"NetXbad\",\"main_level\":0,\"test_level\":0}", 400, "chain: "},
      {"/ledger/setup", "{\"pkh\":\"" + z + "\",\"chain\":7,\"main_level\":0,\"test_level\":0}", 400,
       "\"chain\" must be a chain id string"},
      // reset-hwm: the level.
      {"/ledger/reset-hwm", "{\"pkh\":\"" + z + "\"}", 400, "missing field \"level\""},
      {"/ledger/reset-hwm", "{\"pkh\":\"" + z + "\",\"level\":-5}", 400, "\"level\" must be an integer from 0 to 2147483647"},
      {"/ledger/reset-hwm", "{\"pkh\":\"" + z + "\",\"level\":4294967296}", 400, "\"level\" must be an integer"},
      {"/ledger/reset-hwm", "{\"pkh\":\"" + z + "\",\"level\":18446744073709551616}", 400, "\"level\" must be an integer"},
      {"/ledger/reset-hwm", "{\"pkh\":\"" + z + "\",\"level\":1e3}", 400, "\"level\" must be an integer"},
      // A key hash that no [[key]] configures.
      {"/ledger/authorize", std::string("{\"pkh\":\"") + kUnconfiguredTz1 + "\"}", 404,
       std::string("no ledger key ") + kUnconfiguredTz1 + " is configured"},
      {"/ledger/reset-hwm", std::string("{\"pkh\":\"") + kUnconfiguredTz1 + "\",\"level\":5}", 404, "no ledger key"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.target) + " " + c.body);
    auto r = h.call("POST", c.target, c.body);
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_NE(error_of(r).find(c.error), std::string::npos) << r.body;
  }
}

// The other side of each boundary: these pass every check and reach the (absent) device.
TEST(AdminRouter, WellFormedCommandsReachTheDevice) {
  AdminHarness h;
  const std::string z = kZebraTz1;
  for (const auto& [target, body] : std::vector<std::pair<const char*, std::string>>{
           {"/ledger/authorize", "{\"pkh\":\"" + z + "\"}"},
           {"/ledger/deauthorize", "{\"pkh\":\"" + z + "\"}"},
           {"/ledger/reset-hwm", "{\"pkh\":\"" + z + "\",\"level\":0}"},
           {"/ledger/reset-hwm", "{\"pkh\":\"" + z + "\",\"level\":2147483647}"},
           {"/ledger/setup?x=1",
            "{\"test_level\":0,\"main_level\":2147483647,\"chain\":\"NetXdQprcVkpaWU\",\"pkh\":\"" + z + "\"}"}}) {
    SCOPED_TRACE(std::string(target) + " " + body);
    auto r = h.call("POST", target, body);
    EXPECT_EQ(r.status, 500) << r.body;
    EXPECT_NE(error_of(r).find("navailable"), std::string::npos) << r.body;
  }
}

TEST(AdminRouter, LedgerListsEachDeviceWithItsKeysAndWhyItCannotBeQueried) {
  AdminHarness h;
  auto r = h.call("GET", "/ledger");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body);
  ASSERT_EQ(j["devices"].size(), 1u);
  const auto& d = j["devices"][0];
  EXPECT_EQ(d["device"], "hid");
  EXPECT_EQ(d["keys"][0]["pkh"], kZebraTz1);
  EXPECT_EQ(d["keys"][0]["path"], "m/44'/1729'/0'/0'");
  EXPECT_EQ(d["keys"][0]["curve"], "ed25519");
  EXPECT_FALSE(d["state"]["healthy"].get<bool>());
  EXPECT_TRUE(d.contains("query_error")) << r.body;
}

TEST(AdminRouter, UsbListingSurvivesDescriptorsThatAreNotUtf8) {
  AdminHarness h;
  ledger::HidDeviceInfo info;
  info.path = "/dev/hidraw4";
  info.serial = "00\xff";
  info.product = "Nano \xc3";
  h.usb = {info};
  auto r = h.call("GET", "/ledger/devices");
  ASSERT_EQ(r.status, 200);
  const json j = json::parse(r.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.body;
  EXPECT_EQ(j["devices"][0]["path"], "/dev/hidraw4");
  EXPECT_EQ(j["devices"][0]["serial"], "00\xef\xbf\xbd");  // U+FFFD for the byte that is not UTF-8
}

TEST(AdminRouter, WithoutLedgerKeysOnlyTheUsbListingAnswers) {
  std::vector<ledger::HidDeviceInfo> none;
  AdminRouter router(nullptr, [&] { return none; });
  auto devices = router.handle(Request{"GET", "/ledger/devices", "", ""});
  EXPECT_EQ(devices.status, 200);
  EXPECT_EQ(json::parse(devices.body)["devices"], json::array());
  for (const auto& [method, target] : std::vector<std::pair<const char*, const char*>>{
           {"GET", "/ledger"}, {"POST", "/ledger/authorize"}, {"POST", "/ledger/reset-hwm"}}) {
    auto r = router.handle(Request{method, target, "application/json", std::string("{\"pkh\":\"") + kZebraTz1 + "\"}"});
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_NE(error_of(r).find("no ledger keys are configured"), std::string::npos) << r.body;
  }
}

TEST(AdminRouter, OnlyDeviceWorkLeavesTheIoThread) {
  AdminHarness h;
  EXPECT_TRUE(h.router.blocking(Request{"GET", "/ledger", "", ""}));
  EXPECT_TRUE(h.router.blocking(Request{"GET", "/ledger?verbose=1", "", ""}));
  EXPECT_TRUE(h.router.blocking(Request{"POST", "/ledger/authorize", "", ""}));
  EXPECT_FALSE(h.router.blocking(Request{"GET", "/ledger/devices", "", ""}));
  EXPECT_FALSE(h.router.blocking(Request{"GET", "/nope", "", ""}));
}

}  // namespace
}  // namespace pisigner::http
