// pisignerctl ledger ...: through the daemon's admin API, because the daemon owns the device.
#include <iostream>
#include <nlohmann/json.hpp>

#include "ctl.hpp"
#include "http_client.hpp"

namespace pisigner::ctl {

using nlohmann::json;

namespace {

struct LedgerArgs {
  std::string admin_url = "http://127.0.0.1:6733";
  std::string pkh, chain;
  std::int64_t main_level = -1, test_level = -1, level = -1;
};

std::string s(const json& j) { return j.is_null() ? "-" : j.is_string() ? j.get<std::string>() : j.dump(); }

int call(const LedgerArgs& a, const std::string& method, const std::string& path, const json& body, bool json_out,
         std::chrono::seconds timeout = std::chrono::seconds(10)) {
  auto r = daemon::http_request(method, a.admin_url + path, body.is_null() ? "" : body.dump(), timeout);
  if (!r) {
    std::cerr << "pisignerctl: cannot reach the daemon's admin API at " << a.admin_url << ": " << r.error().message << "\n";
    return 2;
  }
  json j = json::parse(r->body, nullptr, false);
  if (r->status != 200) {
    std::cerr << "pisignerctl: " << (j.is_object() && j.contains("error") ? s(j["error"]) : r->body) << "\n";
    return 1;
  }
  if (json_out || j.is_discarded()) {
    std::cout << (j.is_discarded() ? r->body : j.dump(2)) << "\n";
    return 0;
  }
  if (path == "/ledger/devices") {
    for (const auto& d : j["devices"]) std::cout << s(d["path"]) << "  serial " << s(d["serial"]) << "  " << s(d["product"]) << "\n";
    if (j["devices"].empty()) std::cout << "(no Ledger on USB)\n";
    return 0;
  }
  if (path == "/ledger") {
    for (const auto& d : j["devices"]) {
      const auto& st = d["state"];
      std::cout << "device " << s(d["device"]) << (st.value("healthy", false) ? "  OK" : "  NOT READY") << "\n"
                << "  transport      " << s(st["transport"]) << "\n"
                << "  app            Tezos Baking " << s(st["app_version"]) << (d.contains("git") ? " (" + s(d["git"]) + ")" : "")
                << (st.value("app_open", false) ? "" : "  [not open]") << "\n"
                << "  unlocked       " << (st.value("unlocked", false) ? "yes" : "no") << "\n"
                << "  identity       " << (st.value("identity_ok", false) ? "ok" : "NOT VERIFIED") << "\n"
                << "  authorized key " << (st["authorized_key"].is_null() ? "none" : s(st["authorized_key"]["path"]) + " (" + s(st["authorized_key"]["curve"]) + ")")
                << (st.value("authorized_ok", false) ? "" : "  [not the configured key]") << "\n";
      if (d.contains("hwm")) {
        const auto& h = d["hwm"];
        std::cout << "  device HWM     main chain " << s(h["main_chain_id"]) << " level " << s(h["main_level"]) << " round "
                  << s(h["main_round"]) << "; test level " << s(h["test_level"]) << " round " << s(h["test_round"]) << "\n";
      }
      if (d.contains("query_error")) std::cout << "  query error    " << s(d["query_error"]) << "\n";
      if (!s(st["last_error"]).empty() && s(st["last_error"]) != "-") std::cout << "  last error     " << s(st["last_error"]) << "\n";
      std::cout << "  reconnects     " << s(st["reconnects"]) << "\n";
      for (const auto& k : d["keys"]) std::cout << "  key            " << s(k["pkh"]) << " " << s(k["path"]) << " " << s(k["curve"]) << "\n";
    }
    return 0;
  }
  std::cout << "done; device state: " << j["state"].dump() << "\n";
  return 0;
}

}  // namespace

void add_ledger(CLI::App& app, Common& common, int& rc) {
  static LedgerArgs a;
  auto* led = app.add_subcommand("ledger", "Ledger devices (through pisignerd, which owns them)");
  led->require_subcommand(1);
  led->add_option("--admin-url", a.admin_url, "Daemon admin API (server.admin_listen)")->capture_default_str();
  led->add_flag("--json", common.json, "Print JSON");
  // `ledger info --json` and `ledger --json info` alike: the subcommands hand these up.
  led->fallthrough();

  led->add_subcommand("list", "Ledgers visible on USB")->callback([&] { rc = call(a, "GET", "/ledger/devices", nullptr, common.json); });
  led->add_subcommand("info", "Version, authorized key, device watermarks, state")->callback([&] {
    rc = call(a, "GET", "/ledger", nullptr, common.json);
  });
  auto* auth = led->add_subcommand("authorize", "Authorize the configured key for baking (confirm on the device)");
  auth->add_option("--pkh", a.pkh, "Configured ledger key")->required();
  auth->callback([&] { rc = call(a, "POST", "/ledger/authorize", {{"pkh", a.pkh}}, common.json, std::chrono::seconds(140)); });
  auto* setup = led->add_subcommand("setup", "SETUP: authorize the key and set chain and watermarks (confirm on the device)");
  setup->add_option("--pkh", a.pkh, "Configured ledger key")->required();
  setup->add_option("--chain", a.chain, "Main chain id (Net...)")->required();
  setup->add_option("--main-level", a.main_level, "Main chain watermark level")->required();
  setup->add_option("--test-level", a.test_level, "Test chains watermark level")->required();
  setup->callback([&] {
    rc = call(a, "POST", "/ledger/setup",
              {{"pkh", a.pkh}, {"chain", a.chain}, {"main_level", a.main_level}, {"test_level", a.test_level}}, common.json,
              std::chrono::seconds(140));
  });
  auto* deauth = led->add_subcommand("deauthorize", "Remove the authorized baking key from the device");
  deauth->add_option("--pkh", a.pkh, "Configured ledger key")->required();
  deauth->callback([&] { rc = call(a, "POST", "/ledger/deauthorize", {{"pkh", a.pkh}}, common.json); });
  auto* reset = led->add_subcommand("reset-hwm", "Set the device's main and test watermarks to LEVEL (confirm on the device)");
  reset->add_option("--pkh", a.pkh, "Configured ledger key")->required();
  reset->add_option("--level", a.level, "New watermark level")->required();
  reset->callback([&] {
    rc = call(a, "POST", "/ledger/reset-hwm", {{"pkh", a.pkh}, {"level", a.level}}, common.json, std::chrono::seconds(140));
  });
}

}  // namespace pisigner::ctl
