// One problem found in a [ups] or [uplink] configuration, named by the configuration file's key
// so the reader can point at the line.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace pisigner::hal {

struct ConfigIssue {
  std::string key;                  // the file's key, e.g. "min_charge_percent"
  std::string message;              // e.g. "must be between 0 and 100"
  std::vector<std::string> also;    // other keys the rule involves (to point at when `key` is absent)
};

// Adds "KEY: must be between LO and HI" unless lo <= v <= hi (NaN included).
template <class T>
void check_range(std::vector<ConfigIssue>& out, const char* key, T v, T lo, T hi) {
  if (v >= lo && v <= hi) return;
  std::ostringstream s;
  s << "must be between " << lo << " and " << hi;
  out.push_back({key, s.str(), {}});
}

}  // namespace pisigner::hal
