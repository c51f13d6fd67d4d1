#include "pisigner/hal/bus.hpp"

#include <systemd/sd-bus.h>

#include <sdbus-c++/sdbus-c++.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

namespace pisigner::hal {
namespace {

struct SdBusClose {
  void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};
using SdBusPtr = std::unique_ptr<sd_bus, SdBusClose>;

// sd_bus_start against `address` on a bus this code owns. sdbus-c++ 1.2's own
// createSessionBusConnectionWithAddress does the same but drops the sd_bus without unref
// when sd_bus_start fails (one leaked bus object per failed attempt), so an address is
// tried here first and handed to sdbus-c++ only once something answers there. A bus that goes
// away between the two still costs that one object (sdbus-c++ 1.2 takes no sd_bus of ours).
Result<void, HalError> try_address(const std::string& address) {
  sd_bus* raw = nullptr;
  if (int r = sd_bus_new(&raw); r < 0) return fail(HalError{errc_from_errno(-r), std::strerror(-r)});
  SdBusPtr bus(raw);
  int r = sd_bus_set_address(bus.get(), address.c_str());
  if (r >= 0) r = sd_bus_set_bus_client(bus.get(), 1);
  if (r >= 0) r = sd_bus_start(bus.get());
  if (r < 0) {
    // ENOENT / ECONNREFUSED: no daemon listening there (stopped, or not started yet).
    const Errc code = (r == -ENOENT || r == -ECONNREFUSED) ? Errc::absent : errc_from_errno(-r);
    return fail(HalError{code, "cannot connect: " + std::string(std::strerror(-r))});
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<sdbus::IConnection>, HalError> open_bus(const std::string& spec) {
  try {
    if (spec == "system") return sdbus::createSystemBusConnection();
    if (auto probe = try_address(spec); !probe) return fail(std::move(probe.error()));
    return sdbus::createSessionBusConnectionWithAddress(spec);
  } catch (const sdbus::Error& e) {
    return fail(HalError{Errc::absent, e.getName() + ": " + e.getMessage()});
  }
}

Result<std::unique_ptr<BusSession>, HalError> BusSession::open(const std::string& spec) {
  auto conn = open_bus(spec);
  if (!conn) return fail(std::move(conn.error()));
  return std::unique_ptr<BusSession>(new BusSession(std::move(*conn)));
}

BusSession::BusSession(std::unique_ptr<sdbus::IConnection> conn) : conn_(std::move(conn)) {}

BusSession::~BusSession() { stop_loop(); }

void BusSession::start_loop(std::function<void()> on_lost) {
  if (loop_.joinable()) return;
  loop_ = std::thread([this, on_lost = std::move(on_lost)] {
    std::string why = "event loop ended";
    try {
      conn_->enterEventLoop();
      return;  // left on request (stop_loop)
    } catch (const sdbus::Error& e) {
      why = e.getMessage();
    } catch (const std::exception& e) {
      why = e.what();
    }
    // The bus went away (sd_bus_process failed): report it; the owner reconnects.
    {
      std::lock_guard lock(mutex_);
      lost_reason_ = why;
    }
    lost_ = true;
    try {
      if (on_lost) on_lost();
    } catch (const std::exception& e) {
      spdlog::error("D-Bus: lost-connection handler failed: {}", e.what());
    }
  });
}

void BusSession::stop_loop() {
  if (!loop_.joinable()) return;
  if (!lost_) {
    try {
      conn_->leaveEventLoop();  // wakes the loop through its exit fd; harmless if it already ended
    } catch (const std::exception& e) {
      spdlog::warn("D-Bus: leaving the event loop: {}", e.what());
    }
  }
  loop_.join();
}

std::string BusSession::lost_reason() const {
  std::lock_guard lock(mutex_);
  return lost_reason_;
}

Clock::Duration Backoff::remaining(Clock::TimePoint now) const {
  if (due(now)) return Clock::Duration::zero();
  return next_ - now;
}

void Backoff::failed(Clock::TimePoint now) {
  delay_ = failures_ == 0 ? first_ : std::min(delay_ * 2, max_);
  ++failures_;
  next_ = now + delay_;
}

void Backoff::reset() {
  failures_ = 0;
  delay_ = Clock::Duration::zero();
}

}  // namespace pisigner::hal
