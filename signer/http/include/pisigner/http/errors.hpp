// The one table that maps signer errors to HTTP statuses and octez error bodies
// (reference/octez-signer.md §2.2): refusals are 500 + [{"kind":"temporary","id":"failure","msg":...}],
// so octez-client prints the message. Conditions where another Pi can sign (device unavailable,
// shutting down) are 503, so HAProxy may retry on the standby.
#pragma once

#include <string>

#include "pisigner/core/signer.hpp"

namespace pisigner::http {

int status_for(core::SignErrc code);
// [{"kind":"temporary","id":"failure","msg":"<message>"}]
std::string octez_error_body(const std::string& message);

}  // namespace pisigner::http
