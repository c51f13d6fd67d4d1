// What server.health_listen serves: the read-only health routes of a Router, nothing else.
//   GET /authorized   deep health (HAProxy's check: `check port <health port>`)
//   GET /healthz      liveness
//   GET /metrics      Prometheus text
// Everything else is 404 (405 for another method on these paths): no key, no signature and no
// status detail is reachable on this port. The listener has an I/O thread of its own, so a check
// never queues behind signing traffic (hostile_integration prints the p99 under load).
#pragma once

#include "pisigner/http/router.hpp"

namespace pisigner::http {

// Thread-safe if `inner` is; `inner` outlives it.
class HealthRouter final : public Handler {
 public:
  explicit HealthRouter(Handler& inner) : inner_(inner) {}
  Response handle(const Request& request) override;
  // Health routes never wait on a device or a disk.
  bool blocking(const Request&) const override { return false; }

 private:
  Handler& inner_;
};

}  // namespace pisigner::http
