// The three etcd operations the shared watermark needs, behind a seam: the real client speaks the
// JSON gateway (client.hpp); protocol tests use an in-memory KV that can lose replies.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "pisigner/hwm/etcd/wire.hpp"
#include "pisigner/result.hpp"

namespace pisigner::hwm::etcd {

struct KvError {
  // Unknown: a write was sent and may or may not have been applied (transport error or timeout
  // after sending, 5xx, 504, an unreadable reply). NotApplied: certainly nothing was applied
  // (no member reachable, credentials refused, request rejected). NoSpace: the cluster's NOSPACE
  // alarm is raised; writes fail until an operator compacts, defragments and disarms it.
  enum class Code { Unknown, NotApplied, NoSpace };
  Code code = Code::Unknown;
  std::string message;
};

// Thread-safe.
class Kv {
 public:
  virtual ~Kv() = default;
  // Linearizable read of one key (nullopt: no such key); fails over between members.
  virtual Result<std::optional<KeyValue>, KvError> get(std::string_view key) = 0;
  // Puts `value` iff the key's mod_revision is `mod_revision` (0: iff absent); a failed compare
  // returns the current key in TxnReply::current.
  virtual Result<TxnReply, KvError> cas(std::string_view key, std::int64_t mod_revision, std::string_view value) = 0;
  // Several CAS in one txn, applied all or none (wire.hpp BatchTxnReply). Precondition: distinct
  // keys, no more than etcd's --max-txn-ops (128).
  virtual Result<BatchTxnReply, KvError> cas_batch(std::span<const CasOp> ops) = 0;
  // Unconditional put (health probe key only, never an HWM record): may be applied more than once.
  virtual Result<void, KvError> put(std::string_view key, std::string_view value) = 0;
};

}  // namespace pisigner::hwm::etcd
