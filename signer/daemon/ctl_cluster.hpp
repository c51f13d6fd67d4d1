// The etcd side of `pisignerctl hwm show` (local and cluster side by side) and `hwm push`.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ctl.hpp"
#include "pisigner/hwm/etcd/client.hpp"
#include "pisigner/hwm/store.hpp"

namespace pisigner::ctl {

// A client for the config's [cluster]; nullptr when there is none (errors are printed, and `failed`
// set, when the section exists but cannot be used). Call before open_store(): it reads the key and
// password files, which may be readable by root only.
std::unique_ptr<hwm::etcd::Client> cluster_client(const Common& c, bool& failed);

struct ClusterRecord {
  hwm::Record record;
  std::string node;
};
// Every HWM record in the cluster. Keys that are not records (probes) are skipped.
Result<std::map<hwm::HwmKey, ClusterRecord>, std::string> read_cluster(hwm::etcd::Client& client);

// Prints local and cluster records side by side (80 columns), or both in JSON.
void print_side_by_side(const std::vector<std::pair<hwm::HwmKey, hwm::Record>>& local,
                        const std::map<hwm::HwmKey, ClusterRecord>& cluster, bool json);

// `hwm push`: raises the cluster's records to the local ones, never lowers.
int push(const Common& c);

}  // namespace pisigner::ctl
