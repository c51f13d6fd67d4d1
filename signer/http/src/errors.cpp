#include "pisigner/http/errors.hpp"

#include <nlohmann/json.hpp>

namespace pisigner::http {

int status_for(core::SignErrc code) {
  using core::SignErrc;
  switch (code) {
    case SignErrc::UnknownKey:
    case SignErrc::Malformed:
    case SignErrc::AuthMissing:
    case SignErrc::AuthInvalid:
    case SignErrc::PolicyRefused:
    case SignErrc::WatermarkRefused:
    case SignErrc::StoreFailed:
    case SignErrc::BackendRefused:
      return 500;
    case SignErrc::BackendUnavailable:
    case SignErrc::ClusterUnavailable:  // the standby may still reach a quorum
    case SignErrc::ShuttingDown:
      return 503;
  }
  return 500;
}

std::string octez_error_body(const std::string& message) {
  // Built by hand: nlohmann::json sorts object keys, and the octez field order is kind, id, msg.
  return R"([{"kind":"temporary","id":"failure","msg":)" + nlohmann::json(message).dump() + "}]";
}

}  // namespace pisigner::http
