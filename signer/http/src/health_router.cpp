#include "pisigner/http/health_router.hpp"

#include <string_view>

namespace pisigner::http {

Response HealthRouter::handle(const Request& request) {
  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?'));
  if (path != "/authorized" && path != "/healthz" && path != "/metrics") {
    return Response{404, "text/plain", "Not served on the health listener: /authorized, /healthz and /metrics only\n", {}};
  }
  if (request.method != "GET" && request.method != "HEAD") {
    return Response{405, "text/plain", "Method not allowed\n", {{"Allow", "GET"}}};
  }
  return inner_.handle(request);
}

}  // namespace pisigner::http
