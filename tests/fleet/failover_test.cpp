// End-to-end failover of the two-Pi fleet: real HAProxy with the rendered signer_proxy config,
// two pisignerd with their virtual Ledgers, the shared watermark on a real three-member etcd.
// Each Pi (pisignerd, virtual Ledger, etcd member) and the proxy host (HAProxy, third member) runs in
// a network namespace of its own; the Pis reach the proxy and each other only over their veth link
// (the tunnel), so a cut tunnel isolates the Pi's etcd member as it would in the real layout.
// One fault on the primary per scenario; a baker-like client streams through HAProxy throughout.
// PISIGNER_FLEET_SOAK_S=<seconds> also runs the soak: every fault in turn, over and over.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <string>
#include <vector>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "haproxy_stat.hpp"
#include "support/fleet.hpp"

namespace pisigner::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The target is 2 s from the fault to signatures through the standby; the assertion
// leaves one more second for a loaded 2-core build machine. The measured time is printed.
constexpr auto kTakeoverLimit = 3000ms;

enum class Fault {
  Sigkill,
  Locked,
  AppClosed,
  Hung,
  Unplugged,
  BatteryCritical,
  EtcdMemberKilled,  // pi1's member, a follower: the leader where pisigner-etcd-leader keeps it (proxy host)
  EtcdLeaderKilled,  // pi1's member while it leads: the cluster elects another before any write commits
  TunnelCut,         // pi1's tunnel while its member leads: the standby takes over while the rest elect
  UplinkLost
};

// The fleet's members elect a new leader within two election timeouts (etcd draws each member's
// timeout from [election, 2 x election)); a signature waits that long at most, plus one retry.
const auto kElectionStall = std::chrono::milliseconds(2 * EtcdOptions{}.election_ms + 500);

struct Scenario {
  const char* name;
  Fault fault;
  bool primary_leaves;  // false: the primary rides it out (its etcd client moves to another member)
  // Until the standby signs. A critical battery does not stop the primary signing: it turns
  // /authorized red after a UPS poll (1 s) and a health probe (1 s), then HAProxy needs two failed
  // checks; the stream meanwhile has no gap (checked against kTakeoverLimit like the others).
  std::chrono::milliseconds takeover_limit = kTakeoverLimit;
  // Longest time without a signature once signatures flow again after the fault.
  std::chrono::milliseconds stall_limit = 1000ms;
  // How the baker connects: octez's client opens a connection per request, which HAProxy then
  // serves over its idle connections to the Pi (http-reuse always), some of them to a dead Pi.
  Baker::Connections connections = Baker::Connections::keep_alive;
};

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

void inject(Fleet& f, Fault fault) {
  switch (fault) {
    case Fault::Sigkill: f.kill_pi(0); break;
    case Fault::Locked: f.ledger_ctl(0, "locked", "on"); break;
    case Fault::AppClosed: f.ledger_ctl(0, "app_closed", "on"); break;
    case Fault::Hung: f.ledger_ctl(0, "hang", "on"); break;
    case Fault::Unplugged: f.ledger_ctl(0, "disconnect"); break;
    case Fault::BatteryCritical: f.set_power(0, false, 10); break;
    case Fault::EtcdMemberKilled:
    case Fault::EtcdLeaderKilled: f.cluster().kill(0); break;
    case Fault::TunnelCut: f.set_tunnel(0, false); break;
    case Fault::UplinkLost:  // wired gone and no LTE to fall back on: the tunnel goes with them
      f.set_lte_available(0, false);
      f.set_wired(0, false);
      f.set_tunnel(0, false);
      break;
  }
}

void clear(Fleet& f, Fault fault) {
  switch (fault) {
    case Fault::Sigkill: f.start_pi(0); break;
    case Fault::Locked: f.ledger_ctl(0, "locked", "off"); break;
    case Fault::AppClosed: f.ledger_ctl(0, "app_closed", "off"); break;
    case Fault::Hung: f.ledger_ctl(0, "hang", "off"); break;
    case Fault::Unplugged: f.ledger_ctl(0, "reconnect"); break;
    case Fault::BatteryCritical: f.set_power(0, true, 90); break;
    case Fault::EtcdMemberKilled:
    case Fault::EtcdLeaderKilled: f.cluster().start(0); break;
    case Fault::TunnelCut: f.set_tunnel(0, true); break;
    case Fault::UplinkLost:
      f.set_wired(0, true);
      f.set_lte_available(0, true);
      f.set_tunnel(0, true);
      break;
  }
}

// Where the etcd leader is when the fault comes; elsewhere it is wherever the last election put it.
void place_leader(Fleet& f, Fault fault) {
  if (fault == Fault::EtcdMemberKilled) {
    EXPECT_TRUE(f.cluster().move_leader(2)) << "leader to the proxy member";
  } else if (fault == Fault::EtcdLeaderKilled || fault == Fault::TunnelCut) {
    EXPECT_TRUE(f.cluster().move_leader(0)) << "leader to pi1's member";
  }
}

long ms(Clock::duration d) { return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); }

// First signature released at or after `from` (by `server`, or by any when empty), waiting up to `limit`.
std::optional<Released> first_after(const Baker& b, Clock::time_point from, const std::string& server,
                                    std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  do {
    for (const auto& r : b.released()) {
      if (r.at >= from && (server.empty() || r.server == server)) return r;
    }
    std::this_thread::sleep_for(10ms);
  } while (Clock::now() < end);
  return std::nullopt;
}

// Longest time without a released signature between `from` and `to`.
Clock::duration longest_gap(const std::vector<Released>& rs, Clock::time_point from, Clock::time_point to) {
  Clock::duration gap{};
  auto prev = from;
  for (const auto& r : rs) {
    if (r.at < from || r.at > to) continue;
    gap = std::max(gap, r.at - prev);
    prev = r.at;
  }
  return std::max(gap, to - prev);
}

// Who signed when, as runs of signatures by one server without a pause over 100 ms, in ms after
// `from`: with HAProxy's log and the standby's, the evidence when a gap is too long.
std::string timeline(const std::vector<Released>& rs, Clock::time_point from) {
  std::string out = "signatures (ms after the fault):";
  const Released* first = nullptr;
  const Released* last = nullptr;
  int n = 0;
  auto flush = [&] {
    if (!first) return;
    out += " " + first->server + " " + std::to_string(ms(first->at - from)) + ".." +
           std::to_string(ms(last->at - from)) + " (" + std::to_string(n) + ");";
  };
  for (const auto& r : rs) {
    if (last && (r.server != last->server || r.at - last->at > 100ms)) {
      flush();
      first = nullptr;
    }
    if (!first) {
      first = &r;
      n = 0;
    }
    last = &r;
    ++n;
  }
  flush();
  return out + "\n";
}

// A daemon's log without its one line per signature.
std::string without_signatures(const std::string& log) {
  std::string out;
  std::size_t at = 0;
  while (at < log.size()) {
    const auto end = std::min(log.find('\n', at), log.size());
    const auto line = log.substr(at, end - at);
    if (line.find(" info sign ") == std::string::npos) out += line + "\n";
    at = end + 1;
  }
  return out;
}

// The primary cut off by its tunnel reaches no etcd quorum (its own member is alone), so it signs
// nothing even when asked directly (over its LAN link): a new slot, on a chain the stream never
// uses, is refused as "cluster watermark unavailable".
void expect_isolated(Fleet& f) {
  std::string probe = attestation_hex(1, 0);
  probe.replace(2, 8, "00c0ffee");  // chain id
  auto got = f.pi_client(0).post(std::string("/keys/") + kZebraTz1, "\"" + probe + "\"");
  EXPECT_NE(got.status, 200) << "the cut-off primary signed: its etcd member is not isolated";
  EXPECT_NE(got.body.find("cluster watermark unavailable"), std::string::npos) << got.status << " " << got.body;
}

// The cut-off primary's /status (over its LAN link) says why: no wired link, no LTE either.
void expect_no_uplink(Fleet& f) {
  nlohmann::json uplink = nlohmann::json::object();
  auto failures = [&] {
    return uplink.contains("counters") ? uplink["counters"].value("activation_failures", 0) : 0;
  };
  const auto end = Clock::now() + 5s;
  do {
    const auto st = nlohmann::json::parse(f.pi_client(0).get("/status").body, nullptr, false);
    if (st.is_object() && st.contains("uplink") && st["uplink"].is_object()) uplink = st["uplink"];
    if (!uplink.value("wired_ok", true) && failures() > 0) break;
    std::this_thread::sleep_for(100ms);
  } while (Clock::now() < end);
  EXPECT_FALSE(uplink.value("wired_ok", true)) << uplink.dump();
  EXPECT_FALSE(uplink.value("lte_active", true)) << uplink.dump();
  EXPECT_GT(failures(), 0) << "LTE was never tried: " << uplink.dump();
}

struct Cycle {
  Clock::time_point fault, takeover, cleared, back;
};

// Fault on the primary, signatures through the standby, fault cleared, traffic back on the primary.
Cycle fault_cycle(Fleet& f, Baker& baker, const Scenario& s) {
  Cycle c{};
  place_leader(f, s.fault);
  c.fault = Clock::now();
  inject(f, s.fault);
  auto first = first_after(baker, c.fault, s.primary_leaves ? "pi2" : "", 10s);
  EXPECT_TRUE(first) << s.name << ": no signature after the fault\n" << f.haproxy_log();
  c.takeover = first ? first->at : Clock::now();
  if (s.fault == Fault::TunnelCut || s.fault == Fault::UplinkLost) expect_isolated(f);
  if (s.fault == Fault::UplinkLost) expect_no_uplink(f);
  std::this_thread::sleep_for(1s);  // the standby carries the stream for a while
  EXPECT_LE(longest_gap(baker.released(), c.takeover, Clock::now()), s.stall_limit)
      << s.name << ": signing stalls\n" << timeline(baker.released(), c.fault) << f.haproxy_log() << "pi2:\n"
      << without_signatures(f.pi_log(1));
  c.cleared = Clock::now();
  clear(f, s.fault);
  auto back = first_after(baker, c.cleared, "pi1", 20s);
  EXPECT_TRUE(back) << s.name << ": traffic never returned to the primary\n" << f.haproxy_log();
  c.back = back ? back->at : Clock::now();
  return c;
}

// Every slot one Pi signed is refused by the other for a different payload, and across the stream
// and those attempts no slot was signed with two different payloads.
void check_no_double_signature(Fleet& f, const std::vector<Released>& rs, Clock::time_point fault) {
  SlotBook book;
  for (const auto& r : rs) book.add(r.kind, r.level, 0, payload_hex(r.kind, r.level, 0, 0));
  HttpClient pi[2] = {f.pi_client(0), f.pi_client(1)};
  const std::string target = std::string("/keys/") + kZebraTz1;
  int probed = 0;
  const Released* last_before = nullptr;
  for (const auto& r : rs) {
    if (r.at < fault && r.server == "pi1") last_before = &r;
  }
  for (const auto& r : rs) {
    ASSERT_TRUE(r.server == "pi1" || r.server == "pi2") << "X-Pisigner-Server: " << r.server;
    const int other = r.server == "pi1" ? 1 : 0;
    const std::string evil = payload_hex(r.kind, r.level, 0, 7);
    auto got = pi[other].post(target, "\"" + evil + "\"");
    ++probed;
    if (got.status == 200) book.add(r.kind, r.level, 0, evil);
    EXPECT_EQ(got.status, 500) << r.kind << " " << r.level << " signed by " << r.server
                               << ", another payload asked of the other Pi: " << got.body;
  }
  ASSERT_NE(last_before, nullptr);
  std::printf("  probed %d slots on the other Pi; the last the primary signed before the fault: %s %d\n", probed,
              last_before->kind.c_str(), last_before->level);
  const auto conflicts = book.conflicts();
  EXPECT_TRUE(conflicts.empty()) << conflicts.front();
}

void warm_up(const Baker& baker) {
  const auto end = Clock::now() + 15s;
  while (Clock::now() < end && baker.released().size() < 30) std::this_thread::sleep_for(20ms);
  const auto rs = baker.released();
  ASSERT_GE(rs.size(), 30u) << "the stream does not flow";
  for (const auto& r : rs) ASSERT_EQ(r.server, "pi1") << "the standby signed while the primary was healthy";
}

class Failover : public ::testing::TestWithParam<Scenario> {};

TEST_P(Failover, StandbyTakesOverWithoutDoubleSignatureAndThePrimaryReturns) {
  const Scenario& s = GetParam();
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: the test creates network namespaces";
  Fleet fleet;
  ASSERT_TRUE(fleet.ready());
  Baker baker(fleet.proxy_host(), fleet.proxy_port(), s.connections);
  warm_up(baker);
  if (HasFatalFailure()) return;
  const Cycle c = fault_cycle(fleet, baker, s);
  std::this_thread::sleep_for(800ms);
  baker.stop();
  const auto rs = baker.released();
  const auto gap = longest_gap(rs, c.fault, c.cleared);
  std::printf("[fleet] %-29s signatures again %5ld ms after the fault (%s), longest gap %5ld ms; back on pi1 %5ld ms "
              "after the fix; %zu released\n",
              s.name, ms(c.takeover - c.fault), s.primary_leaves ? "through pi2" : "either Pi", ms(gap),
              ms(c.back - c.cleared), rs.size());
  EXPECT_LE(c.takeover - c.fault, s.takeover_limit) << s.name;
  EXPECT_LE(gap, kTakeoverLimit) << s.name;
  if (s.primary_leaves) {
    // A recovered primary is taken back only after `rise` healthy checks (fastinter apart while it
    // goes back up), not at its first answer.
    EXPECT_GE(c.back - c.cleared, std::chrono::milliseconds((fleet.timing().rise - 1) * fleet.timing().fastinter_ms))
        << s.name;
  }
  EXPECT_EQ(baker.refusals(), 0) << baker.last_refusal();
  check_no_double_signature(fleet, rs, c.fault);
}

INSTANTIATE_TEST_SUITE_P(
    Fleet, Failover,
    ::testing::Values(Scenario{"Sigkill", Fault::Sigkill, true}, Scenario{"LedgerLocked", Fault::Locked, true},
                      Scenario{"LedgerAppClosed", Fault::AppClosed, true}, Scenario{"LedgerHung", Fault::Hung, true},
                      Scenario{"LedgerUnplugged", Fault::Unplugged, true},
                      Scenario{"BatteryCritical", Fault::BatteryCritical, true, 5000ms},
                      Scenario{"EtcdMemberKilled", Fault::EtcdMemberKilled, false},
                      Scenario{"EtcdLeaderKilled", Fault::EtcdLeaderKilled, false, kTakeoverLimit, kElectionStall},
                      Scenario{"TunnelCut", Fault::TunnelCut, true}, Scenario{"UplinkLost", Fault::UplinkLost, true},
                      Scenario{"SigkillConnectionPerRequest", Fault::Sigkill, true, kTakeoverLimit, 1000ms,
                               Baker::Connections::per_request},
                      Scenario{"TunnelCutConnectionPerRequest", Fault::TunnelCut, true, kTakeoverLimit, 1000ms,
                               Baker::Connections::per_request}),
    [](const auto& info) { return std::string(info.param.name); });

// HAProxy's counters of new and reused connections to a server of the signers backend.
struct ServerConnections {
  long connect = -1, reuse = -1;
};
ServerConnections server_connections(const Fleet& f, const std::string& server) {
  const auto servers = daemon::parse_show_stat(f.stats_command("show stat"), "signers");
  const auto row = servers.find(server);
  if (row == servers.end() || !row->second.contains("connect") || !row->second.contains("reuse")) return {};
  return {std::atol(row->second.at("connect").c_str()), std::atol(row->second.at("reuse").c_str())};
}

// octez's remote-signer client opens a connection per request. With HAProxy's default (http-reuse
// safe) every such request would open its own connection to the Pi: a TCP handshake over the
// tunnel, from the cloud to a home uplink, before each signature. The proxy reuses idle ones.
TEST(FleetProxy, ServesABakerThatConnectsPerRequestOverReusedConnectionsToThePi) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: the test creates network namespaces";
  Fleet fleet;
  ASSERT_TRUE(fleet.ready());
  ASSERT_TRUE(fleet.wait_server_up(0, true, 10s));
  const auto before = server_connections(fleet, "pi1");
  ASSERT_GE(before.connect, 0) << "no connect/reuse counters for pi1 in `show stat`";
  Baker baker(fleet.proxy_host(), fleet.proxy_port(), Baker::Connections::per_request);
  const auto end = Clock::now() + 20s;
  while (Clock::now() < end && baker.released().size() < 150) std::this_thread::sleep_for(20ms);
  baker.stop();
  const auto after = server_connections(fleet, "pi1");
  const long connects = after.connect - before.connect, reuses = after.reuse - before.reuse;
  std::printf("[fleet] %zu signatures, one client connection each: %ld new and %ld reused connections to pi1\n",
              baker.released().size(), connects, reuses);
  ASSERT_GE(baker.released().size(), 150u);
  EXPECT_GE(reuses, 9 * connects) << "HAProxy opens a connection to the Pi per signature";
  EXPECT_EQ(baker.refusals(), 0) << baker.last_refusal();
}

// `pisignerctl fleet status` on the proxy host: who signs, and why the other Pi does not.
TEST(FleetStatus, SaysWhichPiSignsAndWhyTheOtherDoesNot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: the test creates network namespaces";
  Fleet fleet;
  ASSERT_TRUE(fleet.ready());
  auto status = [&] {
    return run_command({pisignerctl_path(), "fleet", "status", "--pi", "pi1=" + fleet.pi_url(0), "--pi",
                        "pi2=" + fleet.pi_url(1), "--stats-socket", fleet.stats_socket().string()});
  };
  ASSERT_TRUE(fleet.wait_server_up(0, true, 10s));
  auto [rc, out] = status();
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("pi1 is signing; pi2 waits as standby"), std::string::npos) << out;
  EXPECT_NE(out.find("etcd members"), std::string::npos) << out;

  fleet.kill_pi(0);
  ASSERT_TRUE(fleet.wait_server_up(0, false, 10s));
  auto [rc2, out2] = status();
  EXPECT_EQ(rc2, 0) << out2;
  EXPECT_NE(out2.find("pi2 is signing; pi1 is out: not answering"), std::string::npos) << out2;

  auto [rc3, json_out] = run_command({pisignerctl_path(), "fleet", "status", "--json", "--pi", "pi1=" + fleet.pi_url(0),
                                      "--pi", "pi2=" + fleet.pi_url(1), "--stats-socket", fleet.stats_socket().string()});
  EXPECT_EQ(rc3, 0) << json_out;
  EXPECT_NE(json_out.find("\"signing\": \"pi2\""), std::string::npos) << json_out;
}

// PISIGNER_FLEET_SOAK_S=600: one fleet, one stream, every fault in turn until the time is up.
TEST(FleetSoak, EveryFaultInTurn) {
  const char* env = std::getenv("PISIGNER_FLEET_SOAK_S");
  if (env == nullptr) GTEST_SKIP() << "set PISIGNER_FLEET_SOAK_S=<seconds> to run the soak";
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: the test creates network namespaces";
  const auto end = Clock::now() + std::chrono::seconds(std::atoi(env));
  const std::vector<Scenario> all = {{"Sigkill", Fault::Sigkill, true},       {"LedgerLocked", Fault::Locked, true},
                                     {"LedgerAppClosed", Fault::AppClosed, true}, {"LedgerHung", Fault::Hung, true},
                                     {"LedgerUnplugged", Fault::Unplugged, true},
                                     {"BatteryCritical", Fault::BatteryCritical, true, 5000ms},
                                     {"EtcdMemberKilled", Fault::EtcdMemberKilled, false},
                                     {"EtcdLeaderKilled", Fault::EtcdLeaderKilled, false, kTakeoverLimit, kElectionStall},
                                     {"TunnelCut", Fault::TunnelCut, true},
                                     {"UplinkLost", Fault::UplinkLost, true}};
  Fleet fleet;
  ASSERT_TRUE(fleet.ready());
  Baker baker(fleet.proxy_host(), fleet.proxy_port());
  warm_up(baker);
  if (HasFatalFailure()) return;
  const auto first_fault = Clock::now();
  long worst = 0;
  int cycles = 0;
  for (std::size_t i = 0; Clock::now() < end && !HasFailure(); ++i, ++cycles) {
    const Scenario& s = all[i % all.size()];
    const Cycle c = fault_cycle(fleet, baker, s);
    worst = std::max(worst, ms(c.takeover - c.fault));
    EXPECT_LE(c.takeover - c.fault, s.takeover_limit) << s.name << " in cycle " << cycles;
    EXPECT_LE(longest_gap(baker.released(), c.fault, c.cleared), kTakeoverLimit) << s.name << " in cycle " << cycles;
    std::this_thread::sleep_for(500ms);
  }
  baker.stop();
  std::printf("[fleet soak] %d fault cycles, %zu signatures, worst takeover %ld ms\n", cycles, baker.released().size(),
              worst);
  EXPECT_EQ(baker.refusals(), 0) << baker.last_refusal();
  check_no_double_signature(fleet, baker.released(), first_fault);
}

}  // namespace
}  // namespace pisigner::testing
