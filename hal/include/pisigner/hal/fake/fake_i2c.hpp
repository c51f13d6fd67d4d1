// A scriptable I2C bus: register maps per address, value sequences consumed one per read,
// injected errors, and absent devices (NACK -> Errc::absent). Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "pisigner/hal/i2c.hpp"

namespace pisigner::hal::fake {

class FakeI2cBus final : public I2cBus {
 public:
  struct Write {
    std::uint8_t addr;
    std::uint8_t reg;
    std::uint16_t value;
  };

  // A device that ACKs at `addr` (reads of unset registers give 0).
  void add_device(std::uint8_t addr);
  // Removes the device: every access NACKs.
  void remove_device(std::uint8_t addr);
  // Sets a register's steady value (clears any script).
  void set(std::uint8_t addr, std::uint8_t reg, std::uint16_t value);
  // Successive reads return these values in turn; the last one then stays.
  void script(std::uint8_t addr, std::uint8_t reg, std::vector<std::uint16_t> values);
  // The next `n` accesses (reads or writes) fail with `code`.
  void fail_next(int n, Errc code = Errc::io);

  std::vector<Write> writes() const;
  std::uint64_t reads() const;

  Result<std::uint16_t, HalError> read_word(std::uint8_t addr, std::uint8_t reg) override;
  Result<void, HalError> write_word(std::uint8_t addr, std::uint8_t reg, std::uint16_t value) override;
  Result<std::uint8_t, HalError> read_byte(std::uint8_t addr, std::uint8_t reg) override;
  Result<void, HalError> write_byte(std::uint8_t addr, std::uint8_t reg, std::uint8_t value) override;

 private:
  Result<void, HalError> check(std::uint8_t addr);  // requires mutex_

  mutable std::mutex mutex_;
  std::set<std::uint8_t> devices_;
  std::map<std::pair<std::uint8_t, std::uint8_t>, std::deque<std::uint16_t>> regs_;
  std::vector<Write> writes_;
  int fail_count_ = 0;
  Errc fail_code_ = Errc::io;
  std::uint64_t reads_ = 0;
};

}  // namespace pisigner::hal::fake
