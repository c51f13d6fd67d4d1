// A Router over the test Signer (bootstrap1 as a counting key, memory store) and a Health with one
// required check, "ledger", updated by report().
#pragma once

#include <chrono>

#include "pisigner/health/health.hpp"
#include "pisigner/http/router.hpp"
#include "signer_fixtures.hpp"

namespace pisigner::http::test {

using namespace pisigner::test;

inline std::string keys_path(std::string_view pkh = kB1Pkh) { return "/keys/" + std::string(pkh); }
inline std::string jstr(std::string_view hex) { return "\"" + std::string(hex) + "\""; }

struct RouterHarness {
  explicit RouterHarness(HarnessOptions o = {}, RouterOptions ro = {})
      : h(std::move(o)), health(h.clock, std::chrono::milliseconds(1000), std::chrono::milliseconds(3000)),
        router(*h.signer, health, h.metrics, std::move(ro)) {
    health.add("ledger", true);
  }
  // As the server does: handle, then the after-send work (metrics, log line).
  Response post(const std::string& target, std::string body, std::string content_type = "application/json") {
    return sent(router.handle(Request{"POST", target, std::move(content_type), std::move(body)}));
  }
  Response get(const std::string& target, std::string method = "GET") {
    return sent(router.handle(Request{std::move(method), target, "", ""}));
  }
  static Response sent(Response r) {
    if (r.after_send) r.after_send();
    return r;
  }
  Harness h;
  health::Health health;
  Router router;
};

}  // namespace pisigner::http::test
