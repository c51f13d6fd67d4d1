// Turns [[key]] tables into key backends (soft keys, Ledger keys with their device workers and
// health checks).
#pragma once

#include <memory>

#include "pisigner/clock.hpp"
#include "pisigner/config/config.hpp"
#include "pisigner/health/health.hpp"
#include "pisigner/keys/registry.hpp"
#include "pisigner/metrics/metrics.hpp"
#include "pisigner/result.hpp"

namespace pisigner::daemon {

// Background machinery that keys need (device workers, hot-plug watchers).
class KeyRuntime {
 public:
  virtual ~KeyRuntime() = default;
  virtual void stop() = 0;
};

struct LoadedKeys {
  keys::Registry registry;
  std::unique_ptr<KeyRuntime> runtime;  // may be null (soft keys only)
};

// What load_keys checks without a device: decodes every soft key (with its passphrase file) and
// refuses an address configured twice. --check-config and start-up both run it.
// Errors name the config file, the [[key]] line and the cause; never secret material.
Result<void, Error> check_keys(const config::Config& config);

// Errors name the config file, the [[key]] line and the cause; never secret material.
Result<LoadedKeys, Error> load_keys(const config::Config& config, Clock& clock, health::Health& health,
                                    metrics::Registry& metrics);

}  // namespace pisigner::daemon
