#include "haproxy_stat.hpp"

#include <sstream>
#include <vector>

namespace pisigner::daemon {

std::map<std::string, std::map<std::string, std::string>> parse_show_stat(const std::string& text,
                                                                          const std::string& backend) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::istringstream lines(text);
  std::vector<std::string> header;
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> cells;
    std::stringstream cs(line);
    for (std::string c; std::getline(cs, c, ',');) cells.push_back(c);
    if (line.rfind("# ", 0) == 0) {
      cells.front() = cells.front().substr(2);
      header = cells;
      continue;
    }
    if (header.empty() || cells.size() < 2 || cells[0] != backend || cells[1] == "BACKEND") continue;
    auto& row = out[cells[1]];
    for (std::size_t i = 0; i < cells.size() && i < header.size(); ++i) row[header[i]] = cells[i];
  }
  return out;
}

}  // namespace pisigner::daemon
