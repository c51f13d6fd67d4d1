// The virtual Ledger's sockets: a Speculos-compatible raw APDU server
// (request `u32 BE len || APDU`, reply `u32 BE N || data || SW`, N without the SW,
// each reply in one write; one client at a time, a new client replaces the old)
// and a line-based control socket driving a Controller. Single-threaded poll loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "pisigner/clock.hpp"
#include "pisigner/ledger/emulator/app_model.hpp"
#include "pisigner/ledger/emulator/control.hpp"
#include "pisigner/result.hpp"

namespace pisigner::ledger::emulator {

struct ServerOptions {
  std::string listen_address = "127.0.0.1";  // IPv4 or IPv6 literal
  std::uint16_t apdu_port = 9999;            // 0 = ephemeral
  bool control_enabled = true;
  std::uint16_t control_port = 9998;         // 0 = ephemeral
};

class Server {
 public:
  // Binds and listens on both sockets before returning, so a caller may announce readiness.
  // `model`, `controller` and `clock` must outlive the server.
  static Result<std::unique_ptr<Server>, Error> create(BakingAppModel& model, Controller& controller,
                                                       const ServerOptions& options, const Clock& clock);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t apdu_port() const;
  std::uint16_t control_port() const;  // 0 when the control socket is disabled

  // Called on the loop thread whenever NVRAM changed (after an APDU or a control `reset`).
  void on_nvram_change(std::function<void(const AppState&)> callback);

  // Serves until stop(). Call from exactly one thread.
  void run();
  // Thread-safe and async-signal-safe: makes run() return soon.
  void stop();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pisigner::ledger::emulator
