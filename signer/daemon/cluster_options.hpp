// [cluster] as etcd client options, shared by pisignerd and pisignerctl.
#pragma once

#include "pisigner/config/config.hpp"
#include "pisigner/hwm/etcd/client.hpp"
#include "pisigner/result.hpp"

namespace pisigner::daemon {

// The etcd client options [cluster] describes, the password read from its file. Errors name the
// file (the CA, certificate and key are loaded by the client itself).
Result<hwm::etcd::ClientOptions, Error> cluster_client_options(const config::Config& config);
// What --check-config can check without the network: every file exists, is readable by this
// process, and the client accepts the CA, certificate and key.
Result<void, Error> check_cluster(const config::Config& config);

}  // namespace pisigner::daemon
