// A minimal HTTP/1.1 client for pisignerctl (loopback or tunnel to the daemon). Every call has a deadline.
#pragma once

#include <chrono>
#include <string>

#include "pisigner/result.hpp"

namespace pisigner::daemon {

struct HttpReply {
  int status = 0;
  std::string body;
};

// `url`: "http://host:port/path?query". method: GET or POST (body sent as application/json).
Result<HttpReply, Error> http_request(const std::string& method, const std::string& url, const std::string& body,
                                      std::chrono::milliseconds timeout);

}  // namespace pisigner::daemon
