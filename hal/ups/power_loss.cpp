#include "pisigner/hal/power_loss.hpp"

namespace pisigner::hal {

PowerLossWatcher::PowerLossWatcher(std::unique_ptr<GpioLine> line, bool active_high,
                                   std::function<void(bool)> on_change)
    : line_(std::move(line)), active_high_(active_high), on_change_(std::move(on_change)) {}

PowerLossWatcher::~PowerLossWatcher() { stop(); }

void PowerLossWatcher::set_on_change(std::function<void(bool)> cb) {
  std::lock_guard lock(mutex_);
  on_change_ = std::move(cb);
}

Result<void, HalError> PowerLossWatcher::init() {
  auto v = line_->value();
  if (!v) {
    ++line_errors_;
    return fail(v.error());
  }
  apply(*v);
  return {};
}

void PowerLossWatcher::apply(bool level) {
  const bool mains = level != active_high_;
  // The callback runs under the lock so set_on_change({}) returns only once no call is in
  // flight (the monitor clears it before it goes away). It must not call back into us.
  std::lock_guard lock(mutex_);
  if (mains_ == mains) return;
  mains_ = mains;
  if (on_change_) on_change_(mains);
}

Result<bool, HalError> PowerLossWatcher::poll_once(std::chrono::milliseconds deadline) {
  auto ev = line_->wait_edge(deadline);
  if (!ev) {
    ++line_errors_;
    std::lock_guard lock(mutex_);
    mains_.reset();  // unknown until the line answers again
    return fail(ev.error());
  }
  if (!ev->has_value()) return false;
  const auto before = mains_present();
  // Re-read the level rather than trusting the edge kind: bounces can deliver several
  // edges and only the level that settled matters.
  auto level = line_->value();
  if (!level) {
    ++line_errors_;
    return fail(level.error());
  }
  apply(*level);
  return before != mains_present();
}

void PowerLossWatcher::start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    while (!stop_) {
      Result<bool, HalError> r = false;
      try {
        r = poll_once(std::chrono::milliseconds(500));
      } catch (const std::exception& e) {
        // The thread's boundary: treat it as a line error (mains unknown), never end the process.
        r = fail(HalError{Errc::io, e.what()});
        std::lock_guard lock(mutex_);
        mains_.reset();
      }
      if (!r) {
        // A failing line must not spin; try to recover its level at a slow pace.
        for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        (void)init();
      }
    }
  });
}

void PowerLossWatcher::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::optional<bool> PowerLossWatcher::mains_present() const {
  std::lock_guard lock(mutex_);
  return mains_;
}

}  // namespace pisigner::hal
