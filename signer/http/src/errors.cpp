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
    case SignErrc::ShuttingDown:
      return 503;
  }
  return 500;
}

std::string octez_error_body(const std::string& message) {
  nlohmann::json j = nlohmann::json::array();
  j.push_back({{"kind", "temporary"}, {"id", "failure"}, {"msg", message}});
  return j.dump();
}

}  // namespace pisigner::http
