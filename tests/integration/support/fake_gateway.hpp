// A TLS server posing as an etcd member (it holds a member certificate of the test cluster's CA):
// ranges get a valid "no such key" reply, writes (txn, put) get whatever the test sets. For
// hostile-reply tests and members without a leader. Its status reply names itself the leader
// unless set_leader(false).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace pisigner::testing {

class FakeGateway {
 public:
  // Serves with `cluster_dir`/m0.crt and m0.key (SAN 127.0.0.1) on 127.0.0.1:<ephemeral>.
  FakeGateway(const std::string& ca_file, const std::filesystem::path& cluster_dir);
  ~FakeGateway();
  FakeGateway(const FakeGateway&) = delete;
  FakeGateway& operator=(const FakeGateway&) = delete;

  std::string url() const;  // https://127.0.0.1:PORT
  void reply_to_writes(unsigned status, std::string body);  // txn and put
  int writes() const;
  void set_leader(bool has_leader);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pisigner::testing
