// A watermark shared with the other signers of the same keys (the etcd cluster of the two Pis),
// consulted after the local store's rule allowed a signature and before the signature leaves.
#pragma once

#include <future>
#include <optional>
#include <string>

#include "pisigner/hwm/rules.hpp"
#include "pisigner/hwm/store.hpp"

namespace pisigner::hwm {

struct SharedVerdict {
  // Release: the shared record now covers this request (our write landed, or the record already
  // held this exact payload); the signature may leave. ReturnStored: another signer stored a
  // signature of these very bytes; answer with it. Refuse: the shared rule says no (another signer
  // is ahead). Unavailable: the outcome could not be established within the budget.
  enum class Action { Release, ReturnStored, Refuse, Unavailable };
  Action action = Action::Unavailable;
  std::string signature;  // ReturnStored
  std::string message;    // Refuse, Unavailable: why, safe to send to the client
  // Refuse: the shared record that refused (another signer's slot), when known.
  std::optional<Record> record;
  // Release although the cluster was unavailable, because the key allows it
  // (on_cluster_unavailable = "local"); `message` says why.
  bool degraded = false;
};

// Thread-safe. Watermarks calls begin_advance() at most once at a time per HwmKey.
class SharedWatermark {
 public:
  virtual ~SharedWatermark() = default;
  // Starts raising the shared record of `key` to `request` if the shared rule allows it; runs
  // concurrently with the local fsync and the signature. The future never throws.
  virtual std::future<SharedVerdict> begin_advance(const HwmKey& key, const Request& request) = 0;
};

}  // namespace pisigner::hwm
