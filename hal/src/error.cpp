#include "pisigner/hal/error.hpp"

#include <cerrno>

namespace pisigner::hal {

const char* to_string(Errc code) {
  switch (code) {
    case Errc::absent: return "absent";
    case Errc::io: return "io";
    case Errc::timeout: return "timeout";
    case Errc::permission: return "permission";
    case Errc::invalid: return "invalid";
    case Errc::protocol: return "protocol";
  }
  return "unknown";
}

Errc errc_from_errno(int err) {
  switch (err) {
    // ENXIO / EREMOTEIO: the address was not acknowledged, i.e. no chip there.
    case ENXIO:
    case EREMOTEIO:
    case ENOENT:
    case ENODEV:
      return Errc::absent;
    case EACCES:
    case EPERM:
      return Errc::permission;
    case ETIMEDOUT:
      return Errc::timeout;
    case EINVAL:
      return Errc::invalid;
    default:
      return Errc::io;
  }
}

}  // namespace pisigner::hal
