// Internal to the config library: the [ups] / [uplink] reader called by config.cpp.
#pragma once

#include <string>
#include <toml++/toml.h>

#include "pisigner/config/hal_config.hpp"
#include "pisigner/result.hpp"

namespace pisigner::config {

// Reads [ups] and [uplink] from `root` (absent sections keep the defaults). Errors read
// "SOURCE:LINE:COL: key: what is wrong", like the rest of the loader.
Result<void, Error> parse_hal_sections(const toml::table& root, const std::string& source, UpsSection& ups,
                                       UplinkSection& uplink);

}  // namespace pisigner::config
