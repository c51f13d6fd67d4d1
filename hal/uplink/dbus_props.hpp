// Small helpers for property dictionaries (a{sv}) read over D-Bus.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <map>
#include <string>

namespace pisigner::hal {

using PropMap = std::map<std::string, sdbus::Variant>;

// The value of `name` as T, or `def` when missing or of another type (peers differ in
// what they expose; a wrong type must not take the monitor down).
template <class T>
T prop_or(const PropMap& m, const char* name, T def = {}) {
  auto it = m.find(name);
  if (it == m.end()) return def;
  try {
    return it->second.get<T>();
  } catch (const sdbus::Error&) {
    return def;
  }
}

// Properties.GetAll(iface) on `path` of `service`, with a deadline.
inline PropMap get_all(sdbus::IConnection& bus, const std::string& service, const std::string& path,
                       const std::string& iface, std::chrono::milliseconds timeout) {
  auto proxy = sdbus::createProxy(bus, service, path);
  PropMap out;
  proxy->callMethod("GetAll")
      .onInterface("org.freedesktop.DBus.Properties")
      .withArguments(iface)
      .withTimeout(timeout)
      .storeResultsTo(out);
  return out;
}

}  // namespace pisigner::hal
