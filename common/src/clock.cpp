#include "pisigner/clock.hpp"

#include <ctime>

namespace pisigner {
namespace {
class RealClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  std::int64_t unix_seconds() const override { return static_cast<std::int64_t>(std::time(nullptr)); }
};
}  // namespace

Clock& real_clock() {
  static RealClock clock;
  return clock;
}
}  // namespace pisigner
