// GpioLine on libgpiod v1 (Debian 12 ships 1.6).
#include <gpiod.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "pisigner/hal/gpio.hpp"

namespace pisigner::hal {
namespace {

struct ChipDeleter {
  void operator()(gpiod_chip* c) const { gpiod_chip_close(c); }
};
using ChipPtr = std::unique_ptr<gpiod_chip, ChipDeleter>;

// The line belongs to the chip; releasing the request is the only cleanup it needs.
struct LineReleaser {
  void operator()(gpiod_line* l) const { gpiod_line_release(l); }
};
using LinePtr = std::unique_ptr<gpiod_line, LineReleaser>;

HalError errno_error(const std::string& what, int err) {
  return HalError{errc_from_errno(err), what + ": " + std::strerror(err)};
}

class GpiodLine final : public GpioLine {
 public:
  GpiodLine(ChipPtr chip, LinePtr line, std::string name)
      : chip_(std::move(chip)), line_(std::move(line)), name_(std::move(name)) {}
  ~GpiodLine() override { line_.reset(); }  // release before the chip closes

  Result<bool, HalError> value() override {
    const int v = gpiod_line_get_value(line_.get());
    if (v < 0) return fail(errno_error(name_, errno));
    return v == 1;
  }

  Result<std::optional<EdgeEvent>, HalError> wait_edge(std::chrono::milliseconds deadline) override {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(deadline.count() / 1000);
    ts.tv_nsec = static_cast<long>((deadline.count() % 1000) * 1'000'000);
    const int w = gpiod_line_event_wait(line_.get(), &ts);
    if (w < 0) return fail(errno_error(name_, errno));
    if (w == 0) return std::optional<EdgeEvent>{};
    gpiod_line_event ev{};
    if (gpiod_line_event_read(line_.get(), &ev) < 0) return fail(errno_error(name_, errno));
    EdgeEvent out;
    out.edge = ev.event_type == GPIOD_LINE_EVENT_RISING_EDGE ? Edge::rising : Edge::falling;
    out.timestamp = std::chrono::seconds(ev.ts.tv_sec) + std::chrono::nanoseconds(ev.ts.tv_nsec);
    return std::optional<EdgeEvent>{out};
  }

 private:
  ChipPtr chip_;
  LinePtr line_;
  std::string name_;
};

}  // namespace

Result<std::unique_ptr<GpioLine>, HalError> open_gpio_line(const std::string& chip, unsigned offset,
                                                           const std::string& consumer) {
  ChipPtr c(chip.find('/') != std::string::npos ? gpiod_chip_open(chip.c_str())
                                                 : gpiod_chip_open_by_name(chip.c_str()));
  if (!c) return fail(errno_error("gpio chip " + chip, errno));
  const std::string name = chip + " line " + std::to_string(offset);
  gpiod_line* raw = gpiod_chip_get_line(c.get(), offset);
  if (raw == nullptr) return fail(errno_error(name, errno));
  if (gpiod_line_request_both_edges_events(raw, consumer.c_str()) < 0) return fail(errno_error(name, errno));
  LinePtr line(raw);
  return std::unique_ptr<GpioLine>(std::make_unique<GpiodLine>(std::move(c), std::move(line), name));
}

}  // namespace pisigner::hal
