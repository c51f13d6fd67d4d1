// The one error type of the hal library: a category the caller can branch on plus a
// human-readable message (no file/line; callers add context).
#pragma once

#include <string>

namespace pisigner::hal {

enum class Errc {
  absent,       // device or service not there (I2C NACK, ENOENT, D-Bus name has no owner)
  io,           // the device answered badly or the transfer failed
  timeout,      // a deadline passed
  permission,   // EACCES/EPERM, polkit refusal
  invalid,      // bad argument or configuration
  protocol,     // the peer answered something we do not understand
};

struct HalError {
  Errc code = Errc::io;
  std::string message;
};

const char* to_string(Errc code);

// Maps an errno value to a category; the one place errno is interpreted.
Errc errc_from_errno(int err);

}  // namespace pisigner::hal
