// Splits a request target into path and query parameters (percent-decoding values).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace pisigner::http {

struct Target {
  std::string path;
  std::string query;  // raw, without '?'
};
Target split_target(std::string_view target);

// nullopt on malformed percent escapes or a repeated key.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);

}  // namespace pisigner::http
