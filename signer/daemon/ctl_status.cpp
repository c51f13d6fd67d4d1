#include <algorithm>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <vector>
#include <nlohmann/json.hpp>

#include "ctl.hpp"
#include "ctl_hal.hpp"
#include "http_client.hpp"

namespace pisigner::ctl {

using nlohmann::json;

namespace {

constexpr std::size_t kWidth = 80;  // a baker's SSH terminal

std::string str(const json& j) {
  if (j.is_null()) return "-";
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

// Word-wraps `text` into lines of at most kWidth columns, each starting with `indent` spaces; a
// word longer than a line is cut.
void wrapped(std::ostream& out, const std::string& text, std::size_t indent) {
  const std::size_t room = kWidth - indent;
  std::istringstream words(text);
  std::string line;
  auto flush = [&] {
    if (!line.empty()) out << std::string(indent, ' ') << line << "\n";
    line.clear();
  };
  for (std::string w; words >> w;) {
    while (w.size() > room) {
      flush();
      out << std::string(indent, ' ') << w.substr(0, room) << "\n";
      w.erase(0, room);
    }
    if (!line.empty() && line.size() + 1 + w.size() > room) flush();
    line += (line.empty() ? "" : " ") + w;
  }
  flush();
}

void print_keys(std::ostream& out, const json& keys) {
  out << "KEYS\n";
  for (const auto& k : keys) {
    out << "  " << std::left << std::setw(38) << str(k["pkh"]) << str(k["backend"])
        << (k.value("allow_mainnet", false) ? "  (mainnet allowed)" : "") << "\n";
    wrapped(out, "public key " + str(k["public_key"]), 4);
  }
}

// The name column is as wide as the longest name ("ledger tz1…" is 43), the detail goes on its
// own wrapped line: the columns never run into each other and nothing passes 80 columns.
void print_checks(std::ostream& out, const json& checks) {
  std::size_t name_width = 5;
  for (const auto& ch : checks) name_width = std::max(name_width, str(ch["name"]).size());
  name_width = std::min<std::size_t>(name_width + 2, kWidth - 2 - 27);
  out << "HEALTH CHECKS\n  " << std::left << std::setw(static_cast<int>(name_width)) << "CHECK" << std::setw(10)
      << "REQUIRED" << std::setw(9) << "STATE" << "AGE\n";
  for (const auto& ch : checks) {
    std::string name = str(ch["name"]);
    if (name.size() >= name_width) name = name.substr(0, name_width - 2) + "~";
    const std::string age = ch["age_ms"].is_null() ? "-" : std::to_string(ch["age_ms"].get<long long>()) + "ms";
    out << "  " << std::setw(static_cast<int>(name_width)) << name << std::setw(10)
        << (ch.value("required", false) ? "yes" : "no") << std::setw(9) << str(ch["state"]) << age << "\n";
    wrapped(out, str(ch["detail"]), 6);
  }
}

// Grouped by chain, so a line holds kind, pkh, level and round within 80 columns.
void print_watermarks(std::ostream& out, const json& watermarks) {
  out << "HIGH WATERMARKS\n";
  std::map<std::string, std::vector<json>> by_chain;
  for (const auto& w : watermarks) by_chain[str(w["chain"])].push_back(w);
  if (by_chain.empty()) out << "  (none yet)\n";
  for (const auto& [chain, list] : by_chain) {
    out << "  chain " << chain << "\n    " << std::left << std::setw(16) << "KIND" << std::setw(38) << "PKH"
        << std::setw(11) << "LEVEL" << "ROUND\n";
    for (const auto& w : list) {
      out << "    " << std::setw(16) << str(w["kind"]) << std::setw(38) << str(w["pkh"]) << std::setw(11)
          << str(w["level"]) << str(w["round"]) << "\n";
    }
  }
}

// The etcd cluster behind the shared watermark: one line per member (endpoint, reachable, leader,
// raft term), then the protocol's counters.
void print_cluster(std::ostream& out, const json& cluster) {
  if (!cluster.is_object()) return;
  out << "ETCD CLUSTER (shared watermark, this node: " << str(cluster["node"]) << ")\n  " << std::left
      << std::setw(40) << "MEMBER" << std::setw(11) << "REACHABLE" << std::setw(8) << "LEADER" << "TERM\n";
  for (const auto& m : cluster.value("members", json::array())) {
    std::string endpoint = str(m["endpoint"]);
    if (endpoint.size() > 38) endpoint = endpoint.substr(0, 37) + "~";
    out << "  " << std::setw(40) << endpoint << std::setw(11) << (m.value("reachable", false) ? "yes" : "NO")
        << std::setw(8) << (m.value("leader", false) ? "yes" : "-") << str(m["raft_term"]) << "\n";
    if (m.contains("alarms")) wrapped(out, "alarms: " + m["alarms"].dump(), 4);
    if (m.contains("error")) wrapped(out, str(m["error"]), 4);
  }
  const json& st = cluster["stats"];
  wrapped(out,
          "writes " + str(st["writes"]) + " in " + str(st["txns"]) + " txns, lost races " + str(st["lost_races"]) +
              ", unknown outcomes " +
              str(st["unknown_outcomes"]) + "; refused: watermark " + str(st["refused_watermark"]) +
              ", unavailable " + str(st["refused_unavailable"]) + ", nospace " + str(st["refused_nospace"]) +
              "; signed on the local watermark alone " + str(st["degraded"]),
          2);
  if (cluster.contains("last_error")) wrapped(out, "last error: " + str(cluster["last_error"]), 2);
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
  wrapped(std::cout, "pisignerd at " + c.url + ": " +
                         (authorized ? "AUTHORIZED (HAProxy sends traffic here)"
                                     : "NOT AUTHORIZED: " + str(j["health"]["summary"])),
          0);
  std::cout << "\n";
  print_keys(std::cout, j["keys"]);
  std::cout << "\n";
  print_checks(std::cout, j["health"]["checks"]);
  std::cout << "\n";
  print_ups(std::cout, j, false);
  std::cout << "\n";
  print_uplink(std::cout, j, false);
  std::cout << "\n";
  if (j.contains("cluster")) {
    print_cluster(std::cout, j["cluster"]);
    std::cout << "\n";
  }
  print_watermarks(std::cout, j.value("watermarks", json::array()));
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
