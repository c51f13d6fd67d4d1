#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ctl.hpp"
#include "ctl_hal.hpp"
#include "http_client.hpp"

namespace pisigner::ctl {

using nlohmann::json;

namespace {
std::string str(const json& j) {
  if (j.is_null()) return "-";
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

int show_status(const Common& c) {
  auto fetched = fetch_status(c);
  if (!fetched) return 2;
  json j = std::move(*fetched);
  const bool authorized = j["health"].value("authorized", false);
  if (c.json) {
    std::cout << j.dump(2) << "\n";
    return authorized ? 0 : 1;
  }
  std::cout << "pisignerd at " << c.url << ": "
            << (authorized ? "AUTHORIZED (HAProxy sends traffic here)" : "NOT AUTHORIZED: " + str(j["health"]["summary"]))
            << "\n\nKEYS\n";
  for (const auto& k : j["keys"]) {
    std::cout << "  " << std::left << std::setw(38) << str(k["pkh"]) << std::setw(8) << str(k["backend"])
              << str(k["public_key"]) << (k.value("allow_mainnet", false) ? "  (mainnet allowed)" : "") << "\n";
  }
  std::cout << "\nHEALTH CHECKS\n  " << std::left << std::setw(20) << "CHECK" << std::setw(10) << "REQUIRED"
            << std::setw(10) << "STATE" << std::setw(10) << "AGE" << "DETAIL\n";
  for (const auto& ch : j["health"]["checks"]) {
    std::string age = ch["age_ms"].is_null() ? "-" : std::to_string(ch["age_ms"].get<long long>()) + "ms";
    std::cout << "  " << std::setw(20) << str(ch["name"]) << std::setw(10) << (ch.value("required", false) ? "yes" : "no")
              << std::setw(10) << str(ch["state"]) << std::setw(10) << age << str(ch["detail"]) << "\n";
  }
  std::cout << "\n";
  print_ups(std::cout, j, false);
  std::cout << "\n";
  print_uplink(std::cout, j, false);
  std::cout << "\nHIGH WATERMARKS\n  " << std::setw(16) << "KIND" << std::setw(17) << "CHAIN" << std::setw(38) << "PKH"
            << std::setw(10) << "LEVEL" << "ROUND\n";
  for (const auto& w : j.value("watermarks", json::array())) {
    std::cout << "  " << std::setw(16) << str(w["kind"]) << std::setw(17) << str(w["chain"]) << std::setw(38)
              << str(w["pkh"]) << std::setw(10) << str(w["level"]) << str(w["round"]) << "\n";
  }
  return authorized ? 0 : 1;
}
}  // namespace

std::optional<json> fetch_status(const Common& c) {
  auto reply = daemon::http_request("GET", c.url + "/status", "", std::chrono::seconds(3));
  if (!reply) {
    std::cerr << "pisignerctl: pisignerd is not answering: " << reply.error().message << "\n";
    return std::nullopt;
  }
  json j = json::parse(reply->body, nullptr, false);
  if (reply->status != 200 || j.is_discarded()) {
    std::cerr << "pisignerctl: unexpected reply " << reply->status << " from " << c.url << "/status\n";
    return std::nullopt;
  }
  return j;
}

void add_status(CLI::App& app, Common& common, int& rc) {
  auto* cmd = app.add_subcommand("status", "Show the daemon's view: keys, health checks, watermarks (exit 1 if not authorized)");
  cmd->add_option("--url", common.url, "Daemon URL")->capture_default_str();
  cmd->add_flag("--json", common.json, "Print JSON");
  cmd->callback([&] { rc = show_status(common); });
}

}  // namespace pisigner::ctl
