// I2C register access. INA219 and MAX1704x send 16-bit registers most significant byte
// first; the word functions take and return host-order values in that chip order.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pisigner/hal/error.hpp"
#include "pisigner/result.hpp"

namespace pisigner::hal {

class I2cBus {
 public:
  virtual ~I2cBus() = default;
  // Reads a 16-bit big-endian register. Errc::absent when the address does not ACK.
  // Not thread-safe: one owner (the UPS monitor) per bus object.
  virtual Result<std::uint16_t, HalError> read_word(std::uint8_t addr, std::uint8_t reg) = 0;
  // Writes a 16-bit big-endian register.
  virtual Result<void, HalError> write_word(std::uint8_t addr, std::uint8_t reg, std::uint16_t value) = 0;
  virtual Result<std::uint8_t, HalError> read_byte(std::uint8_t addr, std::uint8_t reg) = 0;
  virtual Result<void, HalError> write_byte(std::uint8_t addr, std::uint8_t reg, std::uint8_t value) = 0;
};

// SMBus words travel low byte first; these chips send high byte first.
constexpr std::uint16_t swap_bytes(std::uint16_t v) {
  return static_cast<std::uint16_t>((v >> 8) | (v << 8));
}

// Opens /dev/i2c-<bus> (i2c-dev + libi2c SMBus calls). Errc::absent if the node is
// missing, Errc::permission without access to it.
Result<std::unique_ptr<I2cBus>, HalError> open_i2c_bus(int bus);
// Same for an explicit device node path.
Result<std::unique_ptr<I2cBus>, HalError> open_i2c_device(const std::string& path);

}  // namespace pisigner::hal
