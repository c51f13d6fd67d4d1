// /dev/i2c-N through the i2c-dev ioctl interface and libi2c's SMBus helpers.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

extern "C" {
#include <i2c/smbus.h>
#include <linux/i2c-dev.h>
}

#include "pisigner/hal/i2c.hpp"

namespace pisigner::hal {
namespace {

// Owns a file descriptor.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd& operator=(UniqueFd&&) = delete;
  int operator*() const { return fd_; }

 private:
  int fd_;
};

HalError errno_error(const std::string& what, int err) {
  return HalError{errc_from_errno(err), what + ": " + std::strerror(err)};
}

class I2cDev final : public I2cBus {
 public:
  I2cDev(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  Result<std::uint16_t, HalError> read_word(std::uint8_t addr, std::uint8_t reg) override {
    if (auto r = select(addr); !r) return fail(r.error());
    const std::int32_t v = i2c_smbus_read_word_data(*fd_, reg);
    if (v < 0) return fail(errno_error(where(addr, reg), errno));
    return swap_bytes(static_cast<std::uint16_t>(v));
  }

  Result<void, HalError> write_word(std::uint8_t addr, std::uint8_t reg, std::uint16_t value) override {
    if (auto r = select(addr); !r) return r;
    if (i2c_smbus_write_word_data(*fd_, reg, swap_bytes(value)) < 0) return fail(errno_error(where(addr, reg), errno));
    return {};
  }

  Result<std::uint8_t, HalError> read_byte(std::uint8_t addr, std::uint8_t reg) override {
    if (auto r = select(addr); !r) return fail(r.error());
    const std::int32_t v = i2c_smbus_read_byte_data(*fd_, reg);
    if (v < 0) return fail(errno_error(where(addr, reg), errno));
    return static_cast<std::uint8_t>(v);
  }

  Result<void, HalError> write_byte(std::uint8_t addr, std::uint8_t reg, std::uint8_t value) override {
    if (auto r = select(addr); !r) return r;
    if (i2c_smbus_write_byte_data(*fd_, reg, value) < 0) return fail(errno_error(where(addr, reg), errno));
    return {};
  }

 private:
  Result<void, HalError> select(std::uint8_t addr) {
    if (current_ == addr) return {};
    // Plain I2C_SLAVE: EBUSY when a kernel driver owns the address; we never force.
    if (::ioctl(*fd_, I2C_SLAVE, static_cast<unsigned long>(addr)) < 0) {
      return fail(errno_error(path_ + " address " + std::to_string(addr), errno));
    }
    current_ = addr;
    return {};
  }
  std::string where(std::uint8_t addr, std::uint8_t reg) const {
    char buf[64];
    std::snprintf(buf, sizeof buf, " addr 0x%02x reg 0x%02x", addr, reg);
    return path_ + buf;
  }

  UniqueFd fd_;
  std::string path_;
  int current_ = -1;
};

}  // namespace

Result<std::unique_ptr<I2cBus>, HalError> open_i2c_device(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (*fd < 0) return fail(errno_error(path, errno));
  return std::unique_ptr<I2cBus>(std::make_unique<I2cDev>(std::move(fd), path));
}

Result<std::unique_ptr<I2cBus>, HalError> open_i2c_bus(int bus) {
  if (bus < 0) return fail(HalError{Errc::invalid, "i2c bus number must be >= 0"});
  return open_i2c_device("/dev/i2c-" + std::to_string(bus));
}

}  // namespace pisigner::hal
