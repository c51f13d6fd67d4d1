// An etcd v3 client over the JSON gateway (reference/etcd-hwm.md §2, §3, §8): HTTPS with a CN-less
// client certificate, a password token, keep-alive connections to every member, a deadline on every
// call, and failover between members.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "pisigner/hwm/etcd/kv.hpp"

namespace pisigner::hwm::etcd {

struct ClientOptions {
  std::vector<std::string> endpoints;  // https://host:port, the local member first
  std::filesystem::path ca_file;       // PEM CA that signed the members' certificates
  std::filesystem::path cert_file;     // PEM client certificate without a CN (the gateway refuses a CN)
  std::filesystem::path key_file;      // its private key
  std::string user;                    // empty: the cluster runs without auth
  std::string password;
  // Server-side deadline of each call (Grpc-Timeout); the socket deadline is 250 ms longer.
  std::chrono::milliseconds call_timeout{1500};
  std::chrono::milliseconds connect_timeout{500};  // TCP + TLS handshake, per member
  std::size_t max_reply_bytes = 64 * 1024;
};

struct MemberStatus {
  std::string endpoint;
  bool reachable = false;
  bool leader = false;
  std::uint64_t member_id = 0;
  std::int64_t raft_term = 0;
  std::int64_t revision = 0;  // the cluster's revision: +1 per txn that wrote
  std::int64_t db_size = 0;
  std::vector<std::string> alarms;
  std::string error;  // why it is not reachable
};

struct ClientStats {
  std::uint64_t calls = 0;
  std::uint64_t failovers = 0;        // a call moved to another member
  std::uint64_t reauthentications = 0;
};

class Client final : public Kv {
 public:
  // Loads the CA, certificate and key; an unusable file or endpoint is an error naming it.
  static Result<std::unique_ptr<Client>, std::string> create(ClientOptions options);
  ~Client() override;

  Result<std::optional<KeyValue>, KvError> get(std::string_view key) override;
  Result<TxnReply, KvError> cas(std::string_view key, std::int64_t mod_revision, std::string_view value) override;
  Result<BatchTxnReply, KvError> cas_batch(std::span<const CasOp> ops) override;
  Result<void, KvError> put(std::string_view key, std::string_view value) override;
  // Every key under `prefix` (linearizable).
  Result<std::vector<KeyValue>, KvError> list(std::string_view prefix);
  // One member's view (reachable, leader, term, alarms); asks that member only.
  MemberStatus status(std::size_t member);
  std::size_t members() const;
  ClientStats stats() const;

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pisigner::hwm::etcd
