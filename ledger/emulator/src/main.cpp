// pisigner-vledger: a virtual Ledger running the Tezos Baking app model behind the
// Speculos APDU protocol, with a fault-injection control socket. `ctl` sends one control
// command to a running instance.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "pisigner/crypto/hd.hpp"
#include "pisigner/ledger/emulator/app_model.hpp"
#include "pisigner/ledger/emulator/control.hpp"
#include "pisigner/ledger/emulator/server.hpp"
#include "socket_util.hpp"

using namespace pisigner;
using namespace pisigner::ledger::emulator;

namespace {

Server* g_server = nullptr;

extern "C" void on_signal(int) {
  if (g_server) g_server->stop();
}

struct RunOptions {
  std::string mnemonic;
  std::string mnemonic_file;
  std::string seed_hex;
  ServerOptions server;
  bool no_control = false;
  std::string state_file;
  std::string authorize;
  std::string curve = "ed25519";
  std::string main_chain;
  long long hwm = -1;
  bool print_ready = false;
  std::string prompt = "approve";
  Faults faults;
  std::string log_level = "info";
};

int fail_with(const std::string& msg) {
  std::cerr << "pisigner-vledger: " << msg << "\n";
  return 2;
}

int run(const RunOptions& o) {
  auto level = spdlog::level::from_str(o.log_level);
  spdlog::set_default_logger(spdlog::stderr_color_mt("vledger"));
  spdlog::set_level(level);

  // Keys.
  std::optional<Keyring> keys;
  if (!o.seed_hex.empty()) {
    auto seed = from_hex(o.seed_hex);
    if (!seed) return fail_with("--seed must be hex");
    auto k = Keyring::from_seed(*seed);
    if (!k) return fail_with(k.error().message);
    keys.emplace(std::move(*k));
  } else {
    std::string words = o.mnemonic;
    if (!o.mnemonic_file.empty()) {
      std::ifstream in(o.mnemonic_file);
      if (!in) return fail_with("cannot read " + o.mnemonic_file);
      std::ostringstream ss;
      ss << in.rdbuf();
      std::istringstream ws(ss.str());
      words.clear();
      for (std::string w; ws >> w;) words += (words.empty() ? "" : " ") + w;
    }
    if (words.empty()) {
      spdlog::warn("using the public Ledger TEST seed (\"zebra\" x24): never use it for real funds");
      words = std::string(kTestMnemonic);
    }
    keys.emplace(Keyring::from_mnemonic(words));
  }

  // Initial NVRAM: the state file if there is one, then the command-line settings on top.
  AppState state;
  if (!o.state_file.empty()) {
    auto loaded = load_state(o.state_file);
    if (!loaded) return fail_with(loaded.error().message);
    if (*loaded) state = **loaded;
  }
  if (!o.authorize.empty()) {
    auto path = crypto::parse_path(o.authorize);
    if (!path || path->empty()) return fail_with("bad --authorize path: " + o.authorize);
    auto curve = parse_curve_name(o.curve);
    if (!curve) return fail_with("bad --curve (ed25519|secp256k1|p256): " + o.curve);
    state.baking_key = KeyRef{std::move(*path), *curve};
  }
  if (!o.main_chain.empty()) {
    auto chain = parse_chain_id(o.main_chain);
    if (!chain) return fail_with("bad --main-chain: " + o.main_chain);
    state.main_chain_id = *chain;
  }
  if (o.hwm >= 0) {
    if (o.hwm >= (1ll << 30)) return fail_with("--hwm must be below 2^30");
    state.main = Watermark{static_cast<std::uint32_t>(o.hwm), 0, false, false};
    state.test = state.main;
  }
  PromptAnswer prompt = o.prompt == "refuse" ? PromptAnswer::Refuse : PromptAnswer::Approve;

  BakingAppModel model(std::move(*keys), state);
  model.set_prompt_answer(prompt);
  Controller controller(model, o.faults, state, prompt);
  ServerOptions so = o.server;
  so.control_enabled = !o.no_control;
  auto server = Server::create(model, controller, so, real_clock());
  if (!server) return fail_with(server.error().message);
  if (!o.state_file.empty()) {
    std::string file = o.state_file;
    if (auto r = save_state(file, model.state()); !r) return fail_with(r.error().message);
    (*server)->on_nvram_change([file](const AppState& s) {
      if (auto r = save_state(file, s); !r) spdlog::error("state file: {}", r.error().message);
    });
  }

  g_server = server->get();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);

  spdlog::info("virtual Ledger (Tezos Baking 2.5.1 model) on {}: apdu port {}, control port {}",
               so.listen_address, (*server)->apdu_port(),
               so.control_enabled ? std::to_string((*server)->control_port()) : "disabled");
  if (o.print_ready) {
    std::printf("READY apdu=%u control=%u\n", (*server)->apdu_port(), (*server)->control_port());
    std::fflush(stdout);
  }
  (*server)->run();
  g_server = nullptr;
  spdlog::info("stopped");
  return 0;
}

// Sends one control line and prints the reply; exit 0 on "OK", 1 on "ERR", 2 on I/O failure.
int ctl(const std::string& host, std::uint16_t port, const std::vector<std::string>& words) {
  std::string line;
  for (const auto& w : words) line += (line.empty() ? "" : " ") + w;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) return fail_with("bad --host " + host);
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return fail_with("cannot connect to control port " + std::to_string(port));
  line += '\n';
  if (!send_all(fd.get(), ByteView(reinterpret_cast<const std::uint8_t*>(line.data()), line.size())))
    return fail_with("send failed");
  std::string reply;
  char c;
  while (::recv(fd.get(), &c, 1, 0) == 1 && c != '\n') reply += c;
  if (reply.empty()) return fail_with("no reply");
  std::cout << reply << "\n";
  return reply.rfind("OK", 0) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pisigner-vledger: a virtual Ledger running a model of the Tezos Baking app"};
  RunOptions o;
  app.add_option("--mnemonic", o.mnemonic, "BIP39 words (default: the Ledger TEST seed \"zebra\" x24)");
  app.add_option("--mnemonic-file", o.mnemonic_file, "file holding the BIP39 words")->check(CLI::ExistingFile);
  app.add_option("--seed", o.seed_hex, "raw 64-byte seed in hex instead of a mnemonic");
  app.add_option("--listen", o.server.listen_address, "address to bind")->capture_default_str();
  app.add_option("--apdu-port", o.server.apdu_port, "Speculos APDU port (0 = ephemeral)")->capture_default_str();
  app.add_option("--control-port", o.server.control_port, "control port (0 = ephemeral)")->capture_default_str();
  app.add_flag("--no-control", o.no_control, "no control socket");
  app.add_option("--state-file", o.state_file, "JSON file standing in for NVRAM (read at start, written on change)");
  app.add_option("--authorize", o.authorize, "start with this path authorized, e.g. m/44'/1729'/0'/0'");
  app.add_option("--curve", o.curve, "curve of --authorize: ed25519|secp256k1|p256")->capture_default_str();
  app.add_option("--main-chain", o.main_chain, "main chain id, NetXdQprcVkpaWU or 8 hex digits");
  app.add_option("--hwm", o.hwm, "start with main and test watermarks at this level, round 0");
  app.add_flag("--print-ready", o.print_ready, "print 'READY apdu=<port> control=<port>' once listening");
  app.add_option("--prompt", o.prompt, "answer to device prompts")->check(CLI::IsMember({"approve", "refuse"}))
      ->capture_default_str();
  app.add_flag("--locked", o.faults.locked, "start PIN-locked (every APDU -> 0x5515)");
  app.add_flag("--app-closed", o.faults.app_closed, "start with the app closed (every APDU -> 0x6E00)");
  app.add_flag("--hang", o.faults.hang, "start hung (APDUs are never answered)");
  app.add_option("--delay-ms", o.faults.delay_ms, "delay every reply");
  app.add_option("--log-level", o.log_level, "trace|debug|info|warn|error")->capture_default_str();
  auto* m = app.get_option("--mnemonic");
  auto* mf = app.get_option("--mnemonic-file");
  auto* sd = app.get_option("--seed");
  m->excludes(mf)->excludes(sd);
  mf->excludes(sd);

  auto* ctl_cmd = app.add_subcommand("ctl", "send one control command to a running instance");
  std::string ctl_host = "127.0.0.1";
  std::uint16_t ctl_port = 9998;
  std::vector<std::string> ctl_words;
  ctl_cmd->add_option("--host", ctl_host)->capture_default_str();
  ctl_cmd->add_option("--control-port", ctl_port)->capture_default_str();
  ctl_cmd->add_option("command", ctl_words, "e.g. `hang on`, `delay_ms 200`, `status`")->required();
  app.require_subcommand(0, 1);

  CLI11_PARSE(app, argc, argv);
  if (*ctl_cmd) return ctl(ctl_host, ctl_port, ctl_words);
  return run(o);
}
