// What pisignerd checks before it touches a device, the store or a socket. --check-config runs
// exactly this, so a config it accepts does not fail at start-up for a reason it could have seen.
#pragma once

#include <filesystem>

#include "pisigner/config/config.hpp"
#include "pisigner/result.hpp"

namespace pisigner::daemon {

// Loads `file` and checks it: values (file:line:col), files holding secrets not world-readable,
// listen addresses, soft keys decoded (passphrase files read), no address configured twice.
// Every failure is a configuration error (exit 78).
Result<config::Config, Error> load_checked_config(const std::filesystem::path& file);

// True when `dir` holds a high-watermark store (or the remains of one, which opening reports).
bool store_present(const std::filesystem::path& dir);

}  // namespace pisigner::daemon
