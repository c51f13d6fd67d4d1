// A tiny model of a Ledger running the Baking app, as a Transport, with switches for the
// failures the device worker must survive (hung, unplugged, locked) and a concurrency probe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "pisigner/ledger/protocol.hpp"
#include "pisigner/ledger/transport.hpp"

namespace pisigner::ledger::testing {

// The "hung" switch: an exchange waits on it, so clearing it ends a hang at once (that exchange
// still fails) instead of a test waiting out the whole timeout.
class HangSwitch {
 public:
  HangSwitch& operator=(bool on) {
    {
      std::lock_guard lock(mu_);
      on_ = on;
    }
    cv_.notify_all();
    return *this;
  }
  explicit operator bool() const {
    std::lock_guard lock(mu_);
    return on_;
  }
  // Waits while hung, at most `timeout`.
  void wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !on_; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool on_ = false;
};

struct FakeDeviceSwitches {
  HangSwitch hung;                    // never answers: the exchange waits its timeout (or the switch)
  std::atomic<bool> unplugged{false};
  std::atomic<bool> locked{false};
  std::atomic<std::uint8_t> key_byte{0x11};  // the device's Ed25519 key is 32 x key_byte
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::atomic<int> exchanges{0};
  std::atomic<int> sign_apdus{0};
};

class FakeBakingDevice final : public Transport {
 public:
  explicit FakeBakingDevice(std::shared_ptr<FakeDeviceSwitches> sw) : sw_(std::move(sw)) {}

  Result<Reply, TransportError> exchange(const Apdu& apdu, std::chrono::milliseconds timeout) override {
    const int now = ++sw_->in_flight;
    int prev = sw_->max_in_flight.load();
    while (now > prev && !sw_->max_in_flight.compare_exchange_weak(prev, now)) {
    }
    ++sw_->exchanges;
    auto r = answer(apdu, timeout);
    --sw_->in_flight;
    return r;
  }
  std::string describe() const override { return "fake-device"; }

 private:
  Result<Reply, TransportError> answer(const Apdu& apdu, std::chrono::milliseconds timeout) {
    if (sw_->unplugged) return fail(TransportError{TransportErrc::Disconnected, "unplugged"});
    if (sw_->hung) {
      sw_->hung.wait(timeout);  // what a silent HID device costs
      return fail(TransportError{TransportErrc::Timeout, "no reply"});
    }
    // A little work so that overlapping exchanges would be visible.
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    if (sw_->locked) return Reply{{}, sw::kLocked};
    switch (static_cast<Ins>(apdu.ins)) {
      case Ins::Version: return Reply{{1, 2, 5, 1}, sw::kOk};
      case Ins::GetPublicKey: {
        Bytes k{33, 0x02};
        k.resize(34, sw_->key_byte.load());
        return Reply{k, sw::kOk};
      }
      case Ins::QueryAuthKeyWithCurve: {
        Bytes d{0x00, 0x04};
        for (std::uint32_t c : {0x8000002Cu, 0x800006C1u, 0x80000000u, 0x80000000u}) append_be32(d, c);
        return Reply{d, sw::kOk};
      }
      case Ins::Sign:
        ++sw_->sign_apdus;
        if (apdu.p1 == kP1First) return Reply{{}, sw::kOk};
        return Reply{Bytes(64, 0x5A), sw::kOk};
      default: return Reply{{}, sw::kInvalidIns};
    }
  }

  std::shared_ptr<FakeDeviceSwitches> sw_;
};

}  // namespace pisigner::ledger::testing
