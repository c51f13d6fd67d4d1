#include "pisigner/ledger/fake_hid_device.hpp"

namespace pisigner::ledger {

void FakeHidDevice::set_responder(Responder r) {
  std::lock_guard lock(mutex_);
  responder_ = std::move(r);
}

void FakeHidDevice::queue_report(Bytes report) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(report));
  }
  cv_.notify_all();
}

void FakeHidDevice::unplug() {
  {
    std::lock_guard lock(mutex_);
    gone_ = true;
  }
  cv_.notify_all();
}

std::vector<Bytes> FakeHidDevice::written() const {
  std::lock_guard lock(mutex_);
  return written_;
}

Result<void, TransportError> FakeHidDevice::write(ByteView report) {
  std::unique_lock lock(mutex_);
  if (gone_) return fail(TransportError{TransportErrc::Disconnected, "fake device unplugged"});
  written_.emplace_back(report.begin(), report.end());
  if (responder_) {
    Responder r = responder_;
    lock.unlock();
    auto replies = r(report);
    lock.lock();
    for (auto& b : replies) queue_.push_back(std::move(b));
    cv_.notify_all();
  }
  return {};
}

HidRead FakeHidDevice::read(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return !queue_.empty() || gone_; });
  if (!queue_.empty()) {
    Bytes b = std::move(queue_.front());
    queue_.pop_front();
    return HidRead{HidRead::Kind::Data, std::move(b), {}};
  }
  if (gone_) return HidRead{HidRead::Kind::Gone, {}, "fake device unplugged"};
  return HidRead{HidRead::Kind::Timeout, {}, {}};
}

}  // namespace pisigner::ledger
