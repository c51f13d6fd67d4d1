// pisignerd: the signing daemon. Wires the libraries (see app.cpp) and talks to systemd.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include "app.hpp"
#include "pisigner/hwm/store.hpp"
#include "startup_check.hpp"
#include "version.hpp"

using namespace pisigner;

namespace {

// Exit statuses (pisignerd(8)). The unit's RestartPreventExitStatus=78 stops systemd from
// restarting on a configuration error; a missing store is retried, because a late mount heals it.
constexpr int kExitFailure = 1;
constexpr int kExitNoStore = 75;  // EX_TEMPFAIL
constexpr int kExitConfig = 78;   // EX_CONFIG

// Secret keys live in this process's memory: no core file, no ptrace by other same-user processes.
void forbid_core_dumps() {
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  const rlimit none{0, 0};
  ::setrlimit(RLIMIT_CORE, &none);
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("pisignerd");
  spdlog::set_default_logger(logger);
  // journald adds its own timestamp when we run under systemd.
  spdlog::set_pattern(std::getenv("JOURNAL_STREAM") ? "%l %v" : "%Y-%m-%dT%H:%M:%S.%e %l %v");
  spdlog::set_level(spdlog::level::from_str(level));
}

int run(const std::string& config_path, bool print_ports) {
  auto cfg = daemon::load_checked_config(config_path);
  if (!cfg) {
    std::cerr << "pisignerd: " << cfg.error().message << "\n";
    return kExitConfig;
  }
  setup_logging(cfg->log.level);

  // Block the stop signals before any thread starts, so only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  if (!daemon::store_present(cfg->store.path)) {
    spdlog::critical("cannot start: no high-watermark store in {} ({} missing). If its file system is not mounted yet, "
                     "mount it; on a new installation create an empty store once with: pisignerctl hwm init --config {}",
                     cfg->store.path.string(), hwm::kDatabaseFile, config_path);
    return kExitNoStore;
  }

  auto app = daemon::App::create(*cfg, real_clock());
  config::wipe_secrets(*cfg);
  if (!app) {
    spdlog::critical("cannot start: {}", app.error().message);
    return kExitFailure;
  }
  if (auto r = (*app)->start(); !r) {
    spdlog::critical("cannot start: {}", r.error().message);
    return kExitFailure;
  }
  auto ports = (*app)->ports();
  for (std::size_t i = 0; i < ports.size(); ++i) spdlog::info("listening on {} (port {})", cfg->server.listen[i], ports[i]);
  const auto health_ports = (*app)->health_ports();
  for (std::size_t i = 0; i < health_ports.size(); ++i) {
    spdlog::info("health checks on {} (port {}): /authorized, /healthz, /metrics", cfg->server.health_listen[i], health_ports[i]);
  }
  if (print_ports) {
    std::cout << "LISTENING";
    for (auto p : ports) std::cout << ' ' << p;
    for (auto p : (*app)->admin_ports()) std::cout << " ADMIN " << p;
    for (auto p : (*app)->health_ports()) std::cout << " HEALTH " << p;
    std::cout << std::endl;
  }

  // READY only now: store open, keys loaded, listeners bound.
  sd_notifyf(0, "READY=1\nSTATUS=%s", (*app)->status_line().c_str());
  std::uint64_t watchdog_usec = 0;
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0) {
    // Pinged from the I/O loop: a wedged loop stops the pings and systemd restarts us.
    auto* a = app->get();
    (*app)->every(std::chrono::milliseconds(watchdog_usec / 2000), [a] {
      sd_notifyf(0, "WATCHDOG=1\nSTATUS=%s", a->status_line().c_str());
    });
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("signal {}: stopping", sig);
  sd_notify(0, "STOPPING=1");
  (*app)->stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  forbid_core_dumps();  // first: before the configuration (and its secrets) is read
  CLI::App cli{"pisignerd: Tezos remote signer for baking (octez remote-signer HTTP API)"};
  std::string config_path = "/etc/pisigner/pisigner.toml";
  std::string check_path;
  bool print_ports = false;
  bool version = false;
  cli.add_option("-c,--config", config_path, "Configuration file")->capture_default_str();
  cli.add_option("--check-config", check_path, "Validate a configuration file and exit (0 = valid)");
  cli.add_flag("--print-ports", print_ports, "Print 'LISTENING <port>...' on stdout once bound (for tests and scripts)");
  cli.add_flag("-V,--version", version, "Print the version and exit");
  CLI11_PARSE(cli, argc, argv);

  if (version) {
    std::cout << "pisignerd " << daemon::kVersion << "\n";
    return 0;
  }
  if (!check_path.empty()) {
    auto cfg = daemon::load_checked_config(check_path);
    if (!cfg) {
      std::cerr << cfg.error().message << "\n";
      return kExitConfig;
    }
    config::wipe_secrets(*cfg);
    std::cout << check_path << ": ok (" << cfg->keys.size() << " key(s))\n";
    return 0;
  }
  return run(config_path, print_ports);
}
