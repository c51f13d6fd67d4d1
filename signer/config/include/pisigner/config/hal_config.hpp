// The [ups] and [uplink] sections of pisignerd's configuration (keys documented in HAL_KEYS.md).
// The values are the hal configs themselves: their defaults and rules live in hal/ (validate()),
// the loader reads types and adds file:line.
#pragma once

#include "pisigner/hal/uplink_config.hpp"
#include "pisigner/hal/ups_config.hpp"

namespace pisigner::config {

struct UpsSection {
  hal::UpsConfig config;  // validated
  int line = 0;           // where [ups] starts (0 = absent), for later messages (probe failures)
};

struct UplinkSection {
  hal::UplinkConfig config;  // validated
  int line = 0;
};

}  // namespace pisigner::config
