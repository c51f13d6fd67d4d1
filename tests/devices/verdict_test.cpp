// The Ledger health verdict as a table: each device state a Ledger goes through (unplugged, hung,
// locked, app closed, another device, key not authorized, two keys configured on one device) and
// the line /authorized shows for the key's required check.
#include <gtest/gtest.h>

#include <functional>

#include "pisigner/crypto/hd.hpp"
#include "pisigner/devices/verdict.hpp"

namespace pisigner::devices {
namespace {

using health::State;
using ledger::DerivationType;

constexpr const char* kZebraTz1 = "tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E";
constexpr const char* kOtherTz1 = "tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx";

ledger::Path path(const char* text) { return crypto::parse_path(text).value(); }

KeyIdentity zebra() {
  return {tezos::PublicKeyHash::parse(kZebraTz1).value(), DerivationType::Ed25519, path("m/44'/1729'/0'/0'")};
}
// A second key configured on the same device, at another path.
KeyIdentity second_key() {
  return {tezos::PublicKeyHash::parse(kOtherTz1).value(), DerivationType::Ed25519, path("m/44'/1729'/1'/0'")};
}

// What the worker reports for a device that is ready to bake with the zebra key.
ledger::DeviceState ready() {
  ledger::DeviceState st;
  st.present = true;
  st.responsive = true;
  st.unlocked = true;
  st.app_open = true;
  st.app_version = ledger::AppVersion{1, 2, 5, 1};
  st.identity_ok = true;
  st.authorized = ledger::AuthorizedKey{DerivationType::Ed25519, path("m/44'/1729'/0'/0'")};
  st.authorized_ok = true;
  st.transport = "hid:/dev/hidraw3";
  return st;
}

struct Case {
  const char* name;
  std::function<void(ledger::DeviceState&)> change;
  KeyIdentity key;
  State state;
  std::string detail;  // a part of the detail the operator must see
};

TEST(LedgerVerdict, EveryDeviceStateGetsItsVerdict) {
  const std::vector<Case> cases = {
      {"ready", [](auto&) {}, zebra(), State::Ok,
       std::string("Tezos Baking 2.5.1 on hid:/dev/hidraw3, key ") + kZebraTz1 + " authorized"},
      {"version unknown", [](auto& st) { st.app_version.reset(); }, zebra(), State::Ok, "Tezos Baking ? on"},
      {"never connected",
       [](auto& st) {
         st = ledger::DeviceState{};
       },
       zebra(), State::Failing, "no Ledger: not connected"},
      {"unplugged",
       [](auto& st) {
         st.present = false;
         st.last_error = "device gone";
       },
       zebra(), State::Failing, "no Ledger: device gone"},
      {"hung",
       [](auto& st) {
         st.responsive = false;
         st.last_error = "Ledger did not answer within 1000 ms";
       },
       zebra(), State::Failing, "Ledger not answering: Ledger did not answer within 1000 ms"},
      {"locked", [](auto& st) { st.unlocked = false; }, zebra(), State::Failing, "Ledger is locked: unlock it with the PIN"},
      {"app closed",
       [](auto& st) {
         st.app_open = false;
         st.app_version.reset();
       },
       zebra(), State::Failing, "Tezos Baking app is not open on the Ledger"},
      {"locked and app closed: the PIN comes first",
       [](auto& st) {
         st.unlocked = false;
         st.app_open = false;
       },
       zebra(), State::Failing, "Ledger is locked"},
      {"wrong device",
       [](auto& st) {
         st.identity_ok = false;
         st.last_error = "wrong Ledger: the key at m/44'/1729'/0'/0' is not tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E";
       },
       zebra(), State::Failing, "wrong Ledger: the key at m/44'/1729'/0'/0' is not"},
      {"wrong device, no message", [](auto& st) { st.identity_ok = false; }, zebra(), State::Failing, "wrong Ledger"},
      {"not authorized",
       [](auto& st) {
         st.authorized.reset();
         st.authorized_ok = false;
       },
       zebra(), State::Failing,
       std::string("not authorized on the device (run: pisignerctl ledger authorize --pkh ") + kZebraTz1 + ")"},
      {"authorized for another path",
       [](auto& st) {
         st.authorized = ledger::AuthorizedKey{DerivationType::Ed25519, path("m/44'/1729'/7'/0'")};
         st.authorized_ok = false;
       },
       zebra(), State::Failing,
       std::string("authorized to bake for m/44'/1729'/7'/0' (ed25519), not for key ") + kZebraTz1 +
           " at m/44'/1729'/0'/0' (ed25519)"},
      {"authorized for the path on another curve",
       [](auto& st) {
         st.authorized = ledger::AuthorizedKey{DerivationType::P256, path("m/44'/1729'/0'/0'")};
         st.authorized_ok = false;
       },
       zebra(), State::Failing, "authorized to bake for m/44'/1729'/0'/0' (p256)"},
      // Two keys on one device: the device is ready for the first key, and the second cannot sign.
      {"two keys on one device, the second", [](auto&) {}, second_key(), State::Failing,
       std::string("not for key ") + kOtherTz1 + " at m/44'/1729'/1'/0' (ed25519): a Ledger bakes for one key"},
      {"two keys on one device, second authorized instead",
       [](auto& st) {
         st.authorized = ledger::AuthorizedKey{DerivationType::Ed25519, path("m/44'/1729'/1'/0'")};
         st.authorized_ok = false;  // the worker checks the first key's path
       },
       zebra(), State::Failing, "authorized to bake for m/44'/1729'/1'/0' (ed25519), not for key"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto st = ready();
    c.change(st);
    const auto verdict = judge(st, c.key);
    EXPECT_EQ(verdict.state, c.state) << verdict.detail;
    EXPECT_NE(verdict.detail.find(c.detail), std::string::npos) << verdict.detail;
  }
}

// However the snapshot is wrong, a key is Ok only if every condition holds for it.
TEST(LedgerVerdict, NoSingleMissingConditionIsOk) {
  const std::vector<std::function<void(ledger::DeviceState&)>> breaks = {
      [](auto& st) { st.present = false; },     [](auto& st) { st.responsive = false; },
      [](auto& st) { st.unlocked = false; },    [](auto& st) { st.app_open = false; },
      [](auto& st) { st.identity_ok = false; }, [](auto& st) { st.authorized_ok = false; },
      [](auto& st) { st.authorized.reset(); st.authorized_ok = false; },
  };
  for (std::size_t i = 0; i < breaks.size(); ++i) {
    SCOPED_TRACE(i);
    auto st = ready();
    breaks[i](st);
    EXPECT_EQ(judge(st, zebra()).state, State::Failing) << judge(st, zebra()).detail;
  }
}

}  // namespace
}  // namespace pisigner::devices
