// HAProxy's `show stat` (its stats socket's CSV), read by `pisignerctl fleet status` and the tests.
#pragma once

#include <map>
#include <string>

namespace pisigner::daemon {

// The servers of `backend` in `show stat` output: server name -> column name -> value. The
// backend's own row and rows without a header before them are left out.
std::map<std::string, std::map<std::string, std::string>> parse_show_stat(const std::string& text,
                                                                          const std::string& backend);

}  // namespace pisigner::daemon
