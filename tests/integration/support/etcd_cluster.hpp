// A real etcd cluster (Debian's etcd 3.4) on 127.0.0.1 (or given addresses) for integration tests: its own tiny CA,
// mutual TLS, RBAC for the signer, free ports, and controls to kill, stop and restart members and
// to fill the backend until the NOSPACE alarm. Never uses 2379/2380 (a packaged etcd.service may
// be running there).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "process.hpp"

namespace pisigner::testing {

// `n` distinct free loopback ports below the ephemeral range (all held bound until every one is
// picked); throws if none.
std::vector<std::uint16_t> free_loopback_ports(int n);

struct EtcdOptions {
  int members = 3;
  bool tls = true;   // https everywhere, client and peer certs required (--client-cert-auth)
  bool auth = true;  // root, role `pisigner` (readwrite on /pisigner/hwm/), user `pisigner-a`, auth enabled
  std::optional<std::uint64_t> quota_backend_bytes;  // needed by raise_nospace(); e.g. 1 MiB
  int heartbeat_ms = 50;
  int election_ms = 500;
  // Per member (missing entries: the defaults): the address it listens on and advertises, and the
  // network namespace (/run/netns/<name>) it runs in. The caller must reach every address. A member
  // on another address also listens for clients on 127.0.0.1 (its namespace's), as the roles set it.
  std::vector<std::string> hosts;  // default 127.0.0.1
  std::vector<std::string> netns;  // default the caller's
};

// Not thread-safe. Call start() (and the constructor) from a thread that outlives the members:
// they run under PR_SET_PDEATHSIG, which fires when the spawning *thread* ends, so that they die
// with a SIGKILLed test instead of lingering.
class EtcdCluster {
 public:
  // Makes certs and data under `dir` (which must outlive the cluster), starts the members and
  // waits (up to 20 s) until every member is healthy, then sets up auth. Failures are reported
  // with ADD_FAILURE and leave ready() false; member logs are dir/m<i>.log.
  explicit EtcdCluster(std::filesystem::path dir, EtcdOptions options = {});
  ~EtcdCluster();  // SIGKILLs and reaps every member
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  bool ready() const { return ready_; }  // the constructor succeeded
  int size() const { return options_.members; }

  // Client URLs "https://<host>:PORT" ("http://" without tls), index = member.
  std::vector<std::string> endpoints() const;
  std::string endpoint(int i) const;
  std::uint16_t client_port(int i) const;
  std::string host(int i) const;  // the address member i listens on
  // TLS files (empty strings without tls). client_cert/key: the CN-less pair (O=pisigner) that
  // the JSON gateway accepts; a cert with a CN gets 400 "CommonName ... will be ignored".
  std::string ca_file() const;
  std::string client_cert() const;
  std::string client_key() const;
  std::string root_cert() const;  // CN=root: what etcdctl() uses; rejected by the gateway
  std::string root_key() const;
  // The gateway user (empty strings without auth); password_file() has mode 0600, no newline.
  std::string user() const;
  std::string password() const;
  std::string password_file() const;

  // SIGKILL member i and reap it. No-op if it is not running.
  void kill(int i);
  // SIGTERM member i and wait up to 15 s for it to exit (a leader takes seconds), then SIGKILL.
  void stop(int i);
  // Restarts a killed or stopped member on its ports with its existing data dir; returns at once.
  void start(int i);
  bool running(int i);
  // Index of the member that says it leads and that a majority of the members names, else -1.
  int leader();
  // Polls leader() until it is >= 0 or `timeout` passes; returns the last value.
  int wait_for_leader(std::chrono::milliseconds timeout);
  // Hands leadership to member i (etcdctl move-leader) and waits up to 10 s until it leads; true then.
  bool move_leader(int i);
  // Runs etcdctl as root against the running members (2 s dial, 5 s command timeout; `args` may
  // override these and --endpoints) → (exit status, stdout+stderr). `stdin_text` feeds `put`.
  std::pair<int, std::string> etcdctl(const std::vector<std::string>& args, const std::string& stdin_text = {});

  // Writes 64 KiB junk values as root under /pisigner-test-junk/ (outside the signer's prefix)
  // until a put fails with "database space exceeded". Needs options.quota_backend_bytes; true
  // once the alarm is on.
  bool raise_nospace();
  // Deletes the junk, compacts, defragments the running members and disarms the alarm; true
  // once `alarm list` is empty and a put as root succeeds.
  bool clear_nospace();

 private:
  struct Member;
  bool make_certs();
  bool form();
  bool setup_auth();
  std::vector<std::string> member_argv(int i) const;
  std::string running_endpoints();
  std::optional<std::pair<std::uint64_t, std::uint64_t>> status(int i);  // (member id, leader id)
  std::string log_tail(int i) const;

  std::filesystem::path dir_;
  EtcdOptions options_;
  std::string root_password_;
  std::string password_;
  std::vector<std::unique_ptr<Member>> members_;
  bool auth_enabled_ = false;
  bool ready_ = false;
};

}  // namespace pisigner::testing
