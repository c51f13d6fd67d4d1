// A scriptable in-memory HidDevice for tests. Thread-safe (tests may feed it from another thread).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "pisigner/ledger/hid_device.hpp"

namespace pisigner::ledger {

class FakeHidDevice final : public HidDevice {
 public:
  // Called on each write with the 64-byte report; returns reports to queue as replies.
  using Responder = std::function<std::vector<Bytes>(ByteView report)>;

  void set_responder(Responder r);
  // Queues a report that read() will return (e.g. a stale one).
  void queue_report(Bytes report);
  // From now on writes fail with Disconnected and reads (once the queue is empty) return Gone.
  void unplug();
  // Reports written so far (64 bytes each).
  std::vector<Bytes> written() const;

  Result<void, TransportError> write(ByteView report) override;
  // Returns a queued report, else waits (really) up to `timeout` for one.
  HidRead read(std::chrono::milliseconds timeout) override;
  std::string path() const override { return "fake-hid"; }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Bytes> queue_;
  std::vector<Bytes> written_;
  Responder responder_;
  bool gone_ = false;
};

}  // namespace pisigner::ledger
