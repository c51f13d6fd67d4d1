// The HTTP API as a pure function of a request: no sockets here, so router tests link no Asio.
// Routes (octez remote-signer API + appliance endpoints):
//   GET  /keys/<pkh>            {"public_key": ...}             404 empty when unknown
//   POST /keys/<pkh>            "<hex>" -> {"signature": ...}   ?authentication=&version=
//   GET  /authorized_keys       {} or {"authorized_keys": [...]}
//   GET  /known_keys            only when enabled
//   GET  /authorized            deep health (HAProxy check): 200 / 503 + JSON checks
//   GET  /healthz               liveness
//   GET  /metrics               Prometheus text
//   GET  /status                the daemon's view for pisignerctl (keys, watermarks, health)
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "pisigner/core/signer.hpp"
#include "pisigner/health/health.hpp"
#include "pisigner/metrics/metrics.hpp"

namespace pisigner::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path + query
  std::string content_type;
  std::string body;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Run by the server once the reply is handed to the socket: logging and metrics stay off the
  // reply's path, so they may show a request a moment after its client has the reply. Callers of
  // handle() outside the server run it themselves.
  std::function<void()> after_send = {};
};

struct RouterOptions {
  bool known_keys = false;
  // Extra JSON for GET /status (e.g. watermarks); called on the request thread.
  std::function<std::string()> status_extra;
  // Every sign waits on the network (the shared watermark's etcd round trip): run them all off the
  // I/O threads, so /authorized and /healthz stay fast while etcd is slow.
  bool every_sign_blocks = false;
};

// What the server calls for each request. Implementations are thread-safe.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual Response handle(const Request& request) = 0;
  // True for requests that may wait on a device or on fsync: the server runs them off the I/O threads.
  virtual bool blocking(const Request& request) const = 0;
};

// Thread-safe (state lives in the collaborators).
class Router final : public Handler {
 public:
  Router(core::Signer& signer, const health::Health& health, metrics::Registry& metrics, RouterOptions options);

  Response handle(const Request& request) override;
  // Signs with a key that may wait on a device (Ledger). Soft-key signs run inline: a thread hop
  // costs more than the signature (bench/README.md).
  bool blocking(const Request& request) const override;

 private:
  Response route(const Request& request, std::string& route_label);
  Response sign(const std::string& pkh_text, const std::string& query, const Request& request);
  Response public_key(const std::string& pkh_text);
  Response authorized_keys();
  Response known_keys();
  Response authorized();
  Response status();

  core::Signer& signer_;
  const health::Health& health_;
  metrics::Registry& metrics_;
  RouterOptions options_;
};

// The health snapshot as the /authorized JSON body.
std::string snapshot_json(const health::Snapshot& snapshot);

}  // namespace pisigner::http
