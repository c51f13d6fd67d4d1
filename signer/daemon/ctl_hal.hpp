// pisignerctl's UPS and uplink views of GET /status (also printed by `pisignerctl status`).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

#include "ctl.hpp"

namespace pisigner::ctl {

// GET /status from the daemon; prints why to stderr and returns nullopt when it does not answer properly.
std::optional<nlohmann::json> fetch_status(const Common& c);

// Human-readable "UPS" and "UPLINK" sections from a /status reply; `detailed` adds readings,
// thresholds, modems and the last events.
void print_ups(std::ostream& out, const nlohmann::json& status, bool detailed);
void print_uplink(std::ostream& out, const nlohmann::json& status, bool detailed);

}  // namespace pisigner::ctl
