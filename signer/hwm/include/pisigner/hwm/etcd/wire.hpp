// etcd v3 JSON gateway messages (reference/etcd-hwm.md §2) and the HWM record stored under each key
// (§4). Pure functions: every reply parser rejects what it does not understand with a message.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pisigner/hwm/store.hpp"
#include "pisigner/result.hpp"

namespace pisigner::hwm::etcd {

struct WireError {
  std::string message;
};

struct Header {
  std::uint64_t member_id = 0;
  std::int64_t revision = 0;
  std::int64_t raft_term = 0;
};

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
};

struct RangeReply {
  Header header;
  std::vector<KeyValue> kvs;
};

struct TxnReply {
  Header header;
  bool succeeded = false;
  std::optional<KeyValue> current;  // the failure branch's range of the key (absent: no such key)
};

// One key's compare-and-set: put `value` iff the key's mod_revision is `mod_revision` (0: iff the
// key does not exist).
struct CasOp {
  std::string key;
  std::int64_t mod_revision = 0;
  std::string value;
};

// A txn of several CasOps (distinct keys). etcd applies a txn whole or not at all: succeeded means
// every put landed, all at header.revision (a txn's writes share one revision, which becomes each
// key's mod_revision); otherwise nothing landed and current[i] is the failure branch's range of
// ops[i].key (absent: no such key).
struct BatchTxnReply {
  Header header;
  bool succeeded = false;
  std::vector<std::optional<KeyValue>> current;
};

struct StatusReply {
  Header header;
  std::uint64_t leader = 0;
  std::int64_t db_size = 0;
  std::string version;
  std::vector<std::string> errors;  // e.g. "NOSPACE" alarms the member reports
};

// The error object a non-200 reply carries: {"error":..,"message":..,"code":<gRPC code>}.
struct ErrorReply {
  int code = 0;
  std::string message;
};

// Standard base64 with padding (RFC 4648 §4), the only form the gateway accepts.
std::string base64(std::string_view bytes);
Result<std::string, WireError> unbase64(std::string_view text);

// Request bodies.
std::string range_body(std::string_view key, bool serializable);
std::string prefix_range_body(std::string_view prefix);  // every key under `prefix`
// Put `value` iff the key's mod_revision is `mod_revision` (0: iff the key does not exist); the
// failure branch reads the key back.
std::string cas_body(std::string_view key, std::int64_t mod_revision, std::string_view value);
// One txn for several CasOps: compare every key (MOD == rev, or CREATE == 0), put every value on
// success, range every key on failure, in the order of `ops`. The keys must be distinct (etcd
// refuses a txn that writes a key twice); cas_body is this with one op.
std::string cas_batch_body(std::span<const CasOp> ops);
std::string put_body(std::string_view key, std::string_view value);
std::string authenticate_body(std::string_view user, std::string_view password);

// Reply bodies (HTTP 200).
Result<RangeReply, WireError> parse_range(std::string_view body);
Result<TxnReply, WireError> parse_txn(std::string_view body);
// The reply to cas_batch_body(ops): checks that the failure branch ranged exactly `ops` in order.
Result<BatchTxnReply, WireError> parse_batch_txn(std::string_view body, std::span<const CasOp> ops);
Result<Header, WireError> parse_put(std::string_view body);
Result<std::string, WireError> parse_token(std::string_view body);
Result<StatusReply, WireError> parse_status(std::string_view body);
// The error object of a non-200 reply; nullopt if the body is not one.
std::optional<ErrorReply> parse_error(std::string_view body);

// The record's key: /pisigner/hwm/v1/<kind>/<chain>/<pkh>.
inline constexpr std::string_view kKeyPrefix = "/pisigner/hwm/";
std::string record_key(const HwmKey& key);
Result<HwmKey, WireError> parse_record_key(std::string_view key);

// {"v":1,"level":L,"round":R,"hash":"<hex>","sig":"<b58>","node":"pi-a","ts":<ms>}; round and sig
// are omitted when absent.
std::string encode_record(const Record& record, std::string_view node, std::int64_t unix_ms);
struct StoredRecord {
  Record record;
  std::string node;
  std::int64_t unix_ms = 0;
};
Result<StoredRecord, WireError> decode_record(std::string_view value);

}  // namespace pisigner::hwm::etcd
