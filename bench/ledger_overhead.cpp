// Daemon overhead on top of a Ledger, with the virtual Ledger (pisigner-vledger) answering after a
// fixed delay:
//   1. sign latency through pisignerd minus the device's own time, where the device time is measured
//      in the same run by a direct client doing the same SIGN_WITH_HASH exchange with a second virtual
//      Ledger (same seed, same delay), in alternating blocks so machine noise lands on both
//      (target <= 1 ms p99);
//   2. /authorized latency while a sign is in flight and while the device is hung (target <= 5 ms p99);
//   3. time from a virtual replug to /authorized 200 (target <= 2 s).
//
// Usage: bench_ledger_overhead [--delay 20] [--requests 300] [--polls 1000] [--replugs 5]
#include <utility>  // boost 1.74 asio/awaitable.hpp uses std::exchange without including it
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>
#include <tuple>

#include "pisigner/crypto/hd.hpp"
#include "pisigner/ledger/baking_app.hpp"
#include "pisigner/ledger/tcp_transport.hpp"
#include "support/child.hpp"
#include "support/client.hpp"
#include "support/common.hpp"

namespace pb = pisigner::bench;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using namespace std::chrono_literals;

namespace {

constexpr const char* kPath = "m/44'/1729'/0'/0'";
constexpr const char* kPkh = "tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E";  // the Ledger test seed at kPath

// One keep-alive GET client for /authorized.
class Getter {
 public:
  explicit Getter(std::uint16_t port) : stream_(io_) {
    stream_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    stream_.socket().set_option(asio::ip::tcp::no_delay(true));
  }
  int get(const std::string& target) {
    bhttp::request<bhttp::empty_body> req(bhttp::verb::get, target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    bhttp::write(stream_, req);
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream_, buffer_, res);
    return static_cast<int>(res.result_int());
  }

 private:
  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

void vledger_ctl(const std::string& vledger, int control_port, const std::string& cmd) {
  const std::string line = vledger + " ctl --control-port " + std::to_string(control_port) + " " + cmd + " >/dev/null";
  if (std::system(line.c_str()) != 0) throw std::runtime_error("vledger ctl " + cmd + " failed");
}

std::vector<double> poll_authorized(Getter& g, int n, int* non200 = nullptr) {
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    auto t0 = pb::Clock::now();
    int st = g.get("/authorized");
    us.push_back(pb::micros(pb::Clock::now() - t0));
    if (non200 && st != 200) ++*non200;
    std::this_thread::sleep_for(1ms);
  }
  return us;
}

}  // namespace

int main(int argc, char** argv) {
  long delay_ms = 20, requests = 300, polls = 1000, replugs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    long v = std::stol(argv[i + 1]);
    if (k == "--delay") delay_ms = v;
    else if (k == "--requests") requests = v;
    else if (k == "--polls") polls = v;
    else if (k == "--replugs") replugs = v;
    else { std::fprintf(stderr, "unknown option %s\n", k.c_str()); return 2; }
  }
  try {
    pb::WorkDir dir;
    // A virtual Ledger: READY apdu=<p> control=<p> on stdout.
    auto start_vledger = [&](const char* log) {
      auto child = std::make_unique<pb::Child>(
          std::vector<std::string>{VLEDGER_PATH, "--apdu-port", "0", "--control-port", "0", "--print-ready", "--authorize",
                                   kPath, "--curve", "ed25519", "--delay-ms", std::to_string(delay_ms)},
          (dir.path() / log).string());
      const std::string ready = child->wait_line("READY ", 10s);
      return std::tuple(std::move(child), std::stoi(ready.substr(ready.find("apdu=") + 5)),
                        std::stoi(ready.substr(ready.find("control=") + 8)));
    };
    auto [vledger, apdu_port, control_port] = start_vledger("vledger.log");  // pisignerd's device
    auto [direct_vledger, direct_port, direct_control] = start_vledger("vledger-direct.log");
    (void)direct_control;

    // pisignerd with that Ledger key.
    std::ofstream(dir.path() / "pisigner.toml")
        << "[server]\nlisten = [\"127.0.0.1:0\"]\nadmin_listen = []\n[store]\npath = \"" << (dir.path() / "store").string()
        << "\"\n[log]\nlevel = \"warn\"\n[[key]]\nbackend = \"ledger\"\ndevice = "
        << "\"tcp://127.0.0.1:" << apdu_port << "\"\npath = \"" << kPath << "\"\ncurve = \"ed25519\"\npkh = \"" << kPkh
        << "\"\ntimeout_ms = 1000\n";
    pb::init_store(PISIGNERD_PATH, dir.path() / "store");
    pb::Child daemon({PISIGNERD_PATH, "-c", (dir.path() / "pisigner.toml").string(), "--print-ports"},
                     (dir.path() / "pisignerd.log").string());
    const auto port = daemon.wait_port(20s);
    Getter health(port);
    for (int i = 0; i < 100 && health.get("/authorized") != 200; ++i) std::this_thread::sleep_for(50ms);

    // 1. The device's own time (a direct client on the second virtual Ledger) and the same
    // signatures through pisignerd (HTTP, policy, the durable watermark, the device worker,
    // verification), in alternating blocks of 20.
    std::vector<double> device_us, daemon_us;
    {
      auto t = pisigner::ledger::TcpTransport::connect("tcp://127.0.0.1:" + std::to_string(direct_port), 2s);
      if (!t) throw std::runtime_error("direct connect: " + t.error().message);
      pisigner::ledger::BakingApp app(**t);
      const auto path = pisigner::crypto::parse_path(kPath).value();
      pb::SignClient c(port);
      std::string reply;
      constexpr long kBlock = 20;
      for (long i = 0; i < 2 * requests; ++i) {
        const auto level = static_cast<std::int32_t>(i + 1);
        const auto hex = pb::attestation_hex(level, 0);
        if ((i / kBlock) % 2 == 0) {
          auto payload = pisigner::from_hex(hex).value();
          auto t0 = pb::Clock::now();
          auto s = app.sign_with_hash(pisigner::ledger::DerivationType::Ed25519, path, payload);
          device_us.push_back(pb::micros(pb::Clock::now() - t0));
          if (!s) throw std::runtime_error("direct sign: " + s.error().message);
        } else {
          auto t0 = pb::Clock::now();
          int st = c.sign(kPkh, hex, reply);
          daemon_us.push_back(pb::micros(pb::Clock::now() - t0));
          if (st != 200) throw std::runtime_error("sign through pisignerd: " + std::to_string(st) + " " + reply);
        }
      }
    }
    const auto pd = pb::percentiles(device_us), pp = pb::percentiles(daemon_us);
    std::printf("== Ledger overhead (virtual Ledger, %ld ms per APDU, %zu signatures each, alternating blocks)\n", delay_ms,
                daemon_us.size());
    std::printf("  %-22s %10s %10s %10s\n", "", "p50 us", "p99 us", "max us");
    std::printf("  %-22s %10.0f %10.0f %10.0f\n", "device (direct)", pd.p50, pd.p99, pd.max);
    std::printf("  %-22s %10.0f %10.0f %10.0f\n", "through pisignerd", pp.p50, pp.p99, pp.max);
    std::printf("  %-22s %10.0f %10.0f\n", "overhead", pp.p50 - pd.p50, pp.p99 - pd.p99);
    pb::summary_line("ledger overhead p99 (us)", pb::fmt(pp.p99 - pd.p99, 0), pb::fmt(pd.p99, 0), "-", "<= 1000",
                     pb::verdict(pp.p99 - pd.p99, 1000));

    // 2a. /authorized while signs are in flight (each holds the device for two delayed APDUs).
    std::atomic<bool> stop{false};
    std::atomic<std::int32_t> level{static_cast<std::int32_t>(2 * requests + 10)};
    std::thread busy([&] {
      pb::SignClient c(port);
      std::string reply;
      while (!stop) c.sign(kPkh, pb::attestation_hex(level++, 0), reply);
    });
    auto inflight = pb::percentiles(poll_authorized(health, static_cast<int>(polls)));
    stop = true;
    busy.join();
    // 2b. ... and while the device is hung (signs time out after 1 s; the probe marks it red).
    vledger_ctl(VLEDGER_PATH, control_port, "hang on");
    stop = false;
    std::thread hung_signer([&] {
      pb::SignClient c(port);
      std::string reply;
      while (!stop) c.sign(kPkh, pb::attestation_hex(level++, 0), reply);
    });
    int red = 0;
    auto hung = pb::percentiles(poll_authorized(health, static_cast<int>(polls), &red));
    stop = true;
    hung_signer.join();
    vledger_ctl(VLEDGER_PATH, control_port, "hang off");
    std::printf("  /authorized while a sign is in flight: p50 %.0f us, p99 %.0f us, max %.0f us\n", inflight.p50,
                inflight.p99, inflight.max);
    std::printf("  /authorized while the device is hung:  p50 %.0f us, p99 %.0f us, max %.0f us (%d of %ld answered 503)\n",
                hung.p50, hung.p99, hung.max, red, polls);
    pb::summary_line("/authorized p99, sign in flight (us)", pb::fmt(inflight.p99, 0), "-", "-", "<= 5000",
                     pb::verdict(inflight.p99, 5000));
    pb::summary_line("/authorized p99, device hung (us)", pb::fmt(hung.p99, 0), "-", "-", "<= 5000",
                     pb::verdict(hung.p99, 5000));

    // 3. Replug: disconnect, wait for red, reconnect, time until /authorized is 200 again.
    std::vector<double> replug_ms;
    for (long i = 0; i < replugs; ++i) {
      for (int k = 0; k < 200 && health.get("/authorized") != 200; ++k) std::this_thread::sleep_for(10ms);
      vledger_ctl(VLEDGER_PATH, control_port, "disconnect");
      for (int k = 0; k < 300 && health.get("/authorized") == 200; ++k) std::this_thread::sleep_for(10ms);
      vledger_ctl(VLEDGER_PATH, control_port, "reconnect");
      auto t0 = pb::Clock::now();
      while (health.get("/authorized") != 200 && pb::Clock::now() - t0 < 10s) std::this_thread::sleep_for(5ms);
      replug_ms.push_back(pb::micros(pb::Clock::now() - t0) / 1000.0);
    }
    auto rp = pb::percentiles(replug_ms);
    std::printf("  replug -> /authorized 200: median %.0f ms, max %.0f ms over %ld replugs\n", rp.p50, rp.max, replugs);
    pb::summary_line("replug to /authorized 200 (ms)", pb::fmt(rp.max, 0), "-", "-", "<= 2000", pb::verdict(rp.max, 2000));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_ledger_overhead: %s\n", e.what());
    return 1;
  }
}
