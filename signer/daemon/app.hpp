// pisignerd's wiring: builds every component from a Config and owns them. No logic of its own
// beyond order of construction and shutdown; tests drive it in-process through this class.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pisigner/clock.hpp"
#include "pisigner/config/config.hpp"
#include "pisigner/result.hpp"

namespace pisigner::daemon {

class App {
 public:
  // Opens the store, loads keys, builds the pipeline. Fails with a message naming what is wrong.
  static Result<std::unique_ptr<App>, Error> create(const config::Config& config, Clock& clock);
  ~App();

  // Binds the listeners and starts the health loop. After this the daemon is ready.
  Result<void, Error> start();
  std::vector<std::uint16_t> ports() const;
  std::vector<std::uint16_t> admin_ports() const;
  std::vector<std::uint16_t> health_ports() const;  // server.health_listen's, in order
  // One-line health summary ("ok" or what fails), for sd_notify STATUS=.
  std::string status_line() const;
  // Runs `fn` periodically on the I/O loop (watchdog: proves the loop is not wedged).
  void every(std::chrono::milliseconds period, std::function<void()> fn);
  // Refuses new signatures, drains in-flight ones, closes listeners and the store. Idempotent.
  void stop();
  // Before a UPS power-off (UPS thread): refuses new signatures, waits for those in flight,
  // closes the store. The daemon keeps answering health (503) until it is stopped. Idempotent.
  void prepare_power_off();

  struct Parts;

 private:
  explicit App(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace pisigner::daemon
