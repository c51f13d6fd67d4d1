// pisignerctl's UPS and uplink views of GET /status (also printed by `pisignerctl status`).
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>

namespace pisigner::ctl {

// Human-readable "UPS" and "UPLINK" sections from a /status reply; `detailed` adds readings,
// thresholds, modems and the last events.
void print_ups(std::ostream& out, const nlohmann::json& status, bool detailed);
void print_uplink(std::ostream& out, const nlohmann::json& status, bool detailed);

}  // namespace pisigner::ctl
