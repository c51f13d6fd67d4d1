// `pisignerctl fleet status`, run on the proxy host: both Pis' /status over the tunnel, HAProxy's
// view of each from its stats socket, the etcd members, and one line saying which Pi signs and why
// the other does not.
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include "ctl.hpp"
#include "haproxy_stat.hpp"
#include "http_client.hpp"

namespace pisigner::ctl {

using nlohmann::json;

namespace {

struct FleetArgs {
  std::vector<std::string> pis;  // name=url, in HAProxy's order (the first one up signs)
  std::string stats_socket = "/run/haproxy/admin.sock";
  std::string backend = "signers";
};

// HAProxy's `show stat` for the backend's servers: name -> {status, check_status, last check}.
std::map<std::string, std::map<std::string, std::string>> haproxy_servers(const FleetArgs& a, std::string& error) {
  std::string text;
  try {
    boost::asio::io_context io;
    boost::asio::local::stream_protocol::socket s(io);
    s.connect(boost::asio::local::stream_protocol::endpoint(a.stats_socket));
    boost::asio::write(s, boost::asio::buffer(std::string("show stat\n")));
    boost::system::error_code ec;
    std::array<char, 4096> buf{};
    for (std::size_t n; (n = s.read_some(boost::asio::buffer(buf), ec)) > 0 || !ec;) text.append(buf.data(), n);
  } catch (const std::exception& e) {
    error = "HAProxy stats socket " + a.stats_socket + ": " + e.what();
    return {};
  }
  auto out = daemon::parse_show_stat(text, a.backend);
  for (auto& [name, row] : out) {
    std::erase_if(row, [](const auto& cell) {
      return cell.first != "status" && cell.first != "check_status" && cell.first != "check_desc" &&
             cell.first != "lastchg";
    });
  }
  if (out.empty() && error.empty()) error = "HAProxy has no backend \"" + a.backend + "\" with servers";
  return out;
}

std::string str(const json& j) { return j.is_string() ? j.get<std::string>() : j.is_null() ? "-" : j.dump(); }

// Why a Pi would not sign: its failing required checks, or that it does not answer.
std::string not_signing_reason(const json& st) {
  if (st.is_null()) return "not answering";
  std::string why;
  for (const auto& c : st["health"].value("checks", json::array())) {
    if (c.value("required", false) && str(c["state"]) == "failing") {
      why += (why.empty() ? "" : "; ") + str(c["name"]) + ": " + str(c["detail"]);
    }
  }
  return why.empty() ? "healthy (standby)" : why;
}

int fleet_status(const Common& c, const FleetArgs& a) {
  std::vector<std::pair<std::string, json>> pis;
  for (const auto& spec : a.pis) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "pisignerctl: --pi takes NAME=URL (e.g. pi1=http://10.77.0.2:6732), not \"" << spec << "\"\n";
      return 2;
    }
    const std::string name = spec.substr(0, eq), url = spec.substr(eq + 1);
    auto reply = daemon::http_request("GET", url + "/status", "", std::chrono::seconds(3));
    json st = reply && reply->status == 200 ? json::parse(reply->body, nullptr, false) : json();
    if (st.is_discarded()) st = json();
    pis.emplace_back(name, std::move(st));
  }
  std::string proxy_error;
  auto servers = haproxy_servers(a, proxy_error);

  // HAProxy sends everything to the first server that is UP (balance first).
  std::string signing;
  for (const auto& [name, st] : pis) {
    auto it = servers.find(name);
    if (it != servers.end() && it->second["status"].rfind("UP", 0) == 0) {
      signing = name;
      break;
    }
  }
  std::string verdict = signing.empty() ? "NO PI IS SIGNING" : signing + " is signing";
  for (const auto& [name, st] : pis) {
    if (name == signing) continue;
    const bool first_up = signing.empty() || std::find_if(pis.begin(), pis.end(), [&](const auto& p) {
                                                 return p.first == name;
                                               }) < std::find_if(pis.begin(), pis.end(), [&](const auto& p) {
                                                 return p.first == signing;
                                               });
    verdict += "; " + name + (first_up ? " is out: " + not_signing_reason(st) : " waits as standby");
  }
  if (c.json) {
    json out{{"verdict", verdict}, {"signing", signing.empty() ? json() : json(signing)}};
    for (const auto& [name, st] : pis) {
      out["pis"][name] = {{"status", st}, {"haproxy", servers.count(name) ? json(servers[name]) : json()}};
    }
    if (!proxy_error.empty()) out["haproxy_error"] = proxy_error;
    std::cout << out.dump(2) << "\n";
    return signing.empty() ? 1 : 0;
  }
  std::cout << verdict << "\n\n";
  std::cout << std::left << std::setw(8) << "PI" << std::setw(12) << "AUTHORIZED" << std::setw(10) << "HAPROXY"
            << "LAST CHECK\n";
  for (const auto& [name, st] : pis) {
    auto& row = servers[name];
    const std::string authorized = st.is_null() ? "no answer" : st["health"].value("authorized", false) ? "yes" : "NO";
    std::cout << std::setw(8) << name.substr(0, 7) << std::setw(12) << authorized << std::setw(10)
              << (row["status"].empty() ? "-" : row["status"].substr(0, 9))
              << (row["check_status"] + " " + row["check_desc"]).substr(0, 50) << "\n";
  }
  if (!proxy_error.empty()) std::cout << "  " << proxy_error << "\n";
  for (const auto& [name, st] : pis) {
    if (st.is_null()) continue;
    std::cout << "\n" << name << ": " << not_signing_reason(st) << "\n";
    // Power and uplink: an LTE fallback or a UPS on battery is worth a glance before it matters.
    if (st.contains("ups") && st["ups"].is_object() && st["ups"].contains("state")) {
      std::cout << "  ups     " << str(st["ups"]["state"]) << "\n";
    }
    if (st.contains("uplink") && st["uplink"].is_object() && st["uplink"].contains("mode")) {
      const auto& u = st["uplink"];
      std::cout << "  uplink  " << str(u["mode"]) << " (wired " << (u.value("wired_ok", false) ? "ok" : "down") << ", LTE "
                << (u.value("lte_active", false) ? "active" : "inactive") << ")\n";
    }
    for (const auto& w : st.value("watermarks", json::array())) {
      std::cout << "  " << std::setw(16) << str(w["kind"]) << std::setw(38) << str(w["pkh"]) << "level "
                << str(w["level"]) << " round " << str(w["round"]) << "\n";
    }
  }
  // The etcd members as the first Pi that answers sees them.
  for (const auto& [name, st] : pis) {
    if (st.is_null() || !st.contains("cluster")) continue;
    std::cout << "\netcd members (as " << name << " sees them)\n";
    for (const auto& m : st["cluster"].value("members", json::array())) {
      std::cout << "  " << std::setw(40) << str(m["endpoint"]).substr(0, 39) << std::setw(13)
                << (m.value("reachable", false) ? "reachable" : "UNREACHABLE") << (m.value("leader", false) ? "leader" : "")
                << "\n";
    }
    break;
  }
  return signing.empty() ? 1 : 0;
}

}  // namespace

void add_fleet(CLI::App& app, Common& common, int& rc) {
  auto* fleet = app.add_subcommand("fleet", "The two-Pi fleet, from the proxy host");
  fleet->require_subcommand(1);
  static FleetArgs args;
  auto* status = fleet->add_subcommand("status", "Both Pis side by side, HAProxy's view, etcd, and who signs (exit 1 if none)");
  status->add_option("--pi", args.pis, "NAME=URL of each Pi's signer over the tunnel, in HAProxy's order")->required();
  status->add_option("--stats-socket", args.stats_socket, "HAProxy's stats socket")->capture_default_str();
  status->add_option("--backend", args.backend, "HAProxy backend of the signers")->capture_default_str();
  status->add_flag("--json", common.json, "Print JSON");
  status->callback([&] { rc = fleet_status(common, args); });
}

}  // namespace pisigner::ctl
