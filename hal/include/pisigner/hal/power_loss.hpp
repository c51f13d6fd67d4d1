// Event-driven mains watch on a power-loss-detect line (X728 PLD, GPIO6: high = mains lost).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "pisigner/hal/gpio.hpp"

namespace pisigner::hal {

class PowerLossWatcher {
 public:
  // `on_change(mains_present)` runs on the watcher's thread (or the caller of poll_once)
  // after every change; keep it short (it typically wakes the UPS monitor).
  PowerLossWatcher(std::unique_ptr<GpioLine> line, bool active_high = true,
                   std::function<void(bool)> on_change = {});
  ~PowerLossWatcher();
  PowerLossWatcher(const PowerLossWatcher&) = delete;
  PowerLossWatcher& operator=(const PowerLossWatcher&) = delete;

  // Reads the current level; call once before start() or poll_once().
  Result<void, HalError> init();
  // Waits up to `deadline` for one edge and applies it. Returns whether something changed.
  // For tests and for start()'s thread; not to be called concurrently with start().
  Result<bool, HalError> poll_once(std::chrono::milliseconds deadline);
  // Runs poll_once in a background thread until stop() / destruction.
  void start();
  void stop();

  // Mains present per the line; nullopt before init() or after a line error. Thread-safe.
  std::optional<bool> mains_present() const;
  std::uint64_t line_errors() const { return line_errors_.load(); }
  void set_on_change(std::function<void(bool)> cb);

 private:
  void apply(bool level);

  std::unique_ptr<GpioLine> line_;
  const bool active_high_;
  mutable std::mutex mutex_;
  std::function<void(bool)> on_change_;  // guarded by mutex_
  std::optional<bool> mains_;            // guarded by mutex_
  std::atomic<std::uint64_t> line_errors_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace pisigner::hal
