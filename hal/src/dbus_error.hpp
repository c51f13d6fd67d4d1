// Maps sdbus-c++ exceptions to HalError: the one place D-Bus error names are interpreted.
#pragma once

#include <sdbus-c++/Error.h>

#include <string>

#include "pisigner/hal/error.hpp"

namespace pisigner::hal {

inline HalError from_sdbus(const sdbus::Error& e, const std::string& what) {
  const std::string name = e.getName();
  Errc code = Errc::io;
  if (name == "org.freedesktop.DBus.Error.ServiceUnknown" || name == "org.freedesktop.DBus.Error.NameHasNoOwner" ||
      name == "org.freedesktop.DBus.Error.UnknownObject" || name == "org.freedesktop.DBus.Error.UnknownMethod") {
    code = Errc::absent;
  } else if (name == "org.freedesktop.DBus.Error.AccessDenied" ||
             name == "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired") {
    code = Errc::permission;
  } else if (name == "org.freedesktop.DBus.Error.NoReply" || name == "org.freedesktop.DBus.Error.Timeout" ||
             name == "org.freedesktop.DBus.Error.TimedOut") {
    code = Errc::timeout;
  } else if (name == "org.freedesktop.DBus.Error.InvalidArgs" || name == "org.freedesktop.DBus.Error.UnknownProperty") {
    code = Errc::protocol;
  }
  return HalError{code, what + ": " + name + ": " + e.getMessage()};
}

}  // namespace pisigner::hal
