#include "pisigner/hal/fake/fake_i2c.hpp"

#include <string>

namespace pisigner::hal::fake {

void FakeI2cBus::add_device(std::uint8_t addr) {
  std::lock_guard lock(mutex_);
  devices_.insert(addr);
}

void FakeI2cBus::remove_device(std::uint8_t addr) {
  std::lock_guard lock(mutex_);
  devices_.erase(addr);
}

void FakeI2cBus::set(std::uint8_t addr, std::uint8_t reg, std::uint16_t value) {
  std::lock_guard lock(mutex_);
  regs_[{addr, reg}] = {value};
}

void FakeI2cBus::script(std::uint8_t addr, std::uint8_t reg, std::vector<std::uint16_t> values) {
  std::lock_guard lock(mutex_);
  regs_[{addr, reg}] = std::deque<std::uint16_t>(values.begin(), values.end());
}

void FakeI2cBus::fail_next(int n, Errc code) {
  std::lock_guard lock(mutex_);
  fail_count_ = n;
  fail_code_ = code;
}

std::vector<FakeI2cBus::Write> FakeI2cBus::writes() const {
  std::lock_guard lock(mutex_);
  return writes_;
}

std::uint64_t FakeI2cBus::reads() const {
  std::lock_guard lock(mutex_);
  return reads_;
}

Result<void, HalError> FakeI2cBus::check(std::uint8_t addr) {
  if (fail_count_ > 0) {
    --fail_count_;
    return fail(HalError{fail_code_, "injected bus error"});
  }
  if (devices_.count(addr) == 0) {
    return fail(HalError{Errc::absent, "no ACK from address " + std::to_string(addr)});
  }
  return {};
}

Result<std::uint16_t, HalError> FakeI2cBus::read_word(std::uint8_t addr, std::uint8_t reg) {
  std::lock_guard lock(mutex_);
  if (auto c = check(addr); !c) return fail(c.error());
  ++reads_;
  auto it = regs_.find({addr, reg});
  if (it == regs_.end() || it->second.empty()) return std::uint16_t{0};
  const std::uint16_t v = it->second.front();
  if (it->second.size() > 1) it->second.pop_front();
  return v;
}

Result<void, HalError> FakeI2cBus::write_word(std::uint8_t addr, std::uint8_t reg, std::uint16_t value) {
  std::lock_guard lock(mutex_);
  if (auto c = check(addr); !c) return c;
  writes_.push_back({addr, reg, value});
  regs_[{addr, reg}] = {value};
  return {};
}

Result<std::uint8_t, HalError> FakeI2cBus::read_byte(std::uint8_t addr, std::uint8_t reg) {
  auto w = read_word(addr, reg);
  if (!w) return fail(w.error());
  return static_cast<std::uint8_t>(*w & 0xFF);
}

Result<void, HalError> FakeI2cBus::write_byte(std::uint8_t addr, std::uint8_t reg, std::uint8_t value) {
  return write_word(addr, reg, value);
}

}  // namespace pisigner::hal::fake
