#include "etcd_cluster.hpp"
#include "netns.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <csignal>
#include <fstream>
#include <gtest/gtest.h>
#include <iostream>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace pisigner::testing {

namespace {

constexpr const char* kEtcd = "/usr/bin/etcd";
constexpr const char* kEtcdctl = "/usr/bin/etcdctl";
constexpr const char* kOpenssl = "/usr/bin/openssl";
constexpr const char* kSetpriv = "/usr/bin/setpriv";
constexpr const char* kJunkPrefix = "/pisigner-test-junk/";
constexpr const char* kSignerPrefix = "/pisigner/hwm/";
constexpr const char* kGatewayUser = "pisigner-a";

using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point t0) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

std::string random_hex(std::size_t bytes) {
  std::random_device rd;
  std::string out;
  const char* digits = "0123456789abcdef";
  for (std::size_t i = 0; i < bytes; ++i) {
    auto b = rd() & 0xff;
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

void write_file(const std::filesystem::path& file, const std::string& text, std::filesystem::perms perms) {
  {
    std::ofstream f(file, std::ios::trunc);
    f << text;
  }
  std::filesystem::permissions(file, perms);
}

}  // namespace

// Distinct free loopback ports below the kernel's ephemeral range: outgoing connections (hundreds
// of them in the load tests running beside) take their local ports from that range, so a port
// picked there and released until etcd binds it was seen taken by one ("bind: address already in
// use"). All sockets stay bound until every port is picked, and a port once handed out is never
// handed out again in this process: the fleet's servers bind their ports on namespace addresses,
// where a probe on the host's loopback cannot see them (a Pi's pisignerd once found its port taken
// in its namespace: its etcd member's, or its own other listener's); another process picking at random in the same range
// between the release and the bind remains possible, and the server then reports it. Never 2379/2380.
std::vector<std::uint16_t> free_loopback_ports(int n) {
  static std::mutex given_mu;
  static std::set<std::uint16_t> given;  // guarded by given_mu
  std::lock_guard given_lock(given_mu);
  int ephemeral_low = 32768;
  if (std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range"); range) range >> ephemeral_low;
  const int low = 10000;
  const int high = std::max(low + 1000, ephemeral_low) - 1;
  std::mt19937 pick(std::random_device{}());
  std::uniform_int_distribution<int> port_in(low, high);
  std::vector<int> fds;
  std::vector<std::uint16_t> ports;
  for (int tries = 0; static_cast<int>(ports.size()) < n; ++tries) {
    if (tries > 1000) {
      for (int fd : fds) ::close(fd);
      throw std::runtime_error("cannot pick a free loopback port below the ephemeral range");
    }
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port_in(pick)));
    if (given.count(ntohs(a.sin_port)) != 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      continue;
    }
    fds.push_back(fd);
    ports.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds) ::close(fd);
  given.insert(ports.begin(), ports.end());
  return ports;
}

struct EtcdCluster::Member {
  std::string name;
  std::uint16_t client_port = 0;
  std::uint16_t peer_port = 0;
  std::uint64_t id = 0;  // raft member id, from its status once formed
  std::unique_ptr<Process> proc;
};

EtcdCluster::EtcdCluster(std::filesystem::path dir, EtcdOptions options)
    : dir_(std::move(dir)), options_(options), root_password_(random_hex(12)), password_(random_hex(12)) {
  if (!std::filesystem::exists(kEtcd) || !std::filesystem::exists(kEtcdctl)) {
    ADD_FAILURE() << kEtcd << " or " << kEtcdctl << " missing: install etcd-server etcd-client (./dev deps)";
    return;
  }
  auto ports = free_loopback_ports(2 * options_.members);
  for (int i = 0; i < options_.members; ++i) {
    auto m = std::make_unique<Member>();
    m->name = std::to_string(i).insert(0, 1, 'm');  // not "m" + ...: a false -Wrestrict in GCC 12 -O3
    m->client_port = ports[static_cast<std::size_t>(2 * i)];
    m->peer_port = ports[static_cast<std::size_t>(2 * i + 1)];
    members_.push_back(std::move(m));
  }
  const auto t0 = Clock::now();
  if (options_.tls && !make_certs()) return;
  const long certs_ms = ms_since(t0);
  const auto t1 = Clock::now();
  if (!form()) return;
  const long form_ms = ms_since(t1);
  const auto t2 = Clock::now();
  if (options_.auth && !setup_auth()) return;
  const long auth_ms = ms_since(t2);
  if (ms_since(t0) > 3000) {
    std::cout << "[etcd cluster] slow start: certs " << certs_ms << " ms, formation " << form_ms << " ms, auth "
              << auth_ms << " ms\n";
  }
  ready_ = true;
}

EtcdCluster::~EtcdCluster() {
  for (std::size_t i = 0; i < members_.size(); ++i) kill(static_cast<int>(i));
}

bool EtcdCluster::make_certs() {
  const auto d = dir_.string() + "/";
  auto ssl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), kOpenssl);
    auto [rc, out] = run_command(args);
    if (rc != 0) ADD_FAILURE() << "openssl failed:\n" << out;
    return rc == 0;
  };
  // P-256 keys; the CA comes from `req -x509` whose default config marks it CA:TRUE.
  auto key_and_csr = [&](const std::string& name, const std::string& subj) {
    return ssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", d + name + ".key",
                "-out", d + name + ".csr", "-subj", subj});
  };
  auto sign = [&](const std::string& name, const std::string& ext) {
    write_file(d + name + ".ext", ext, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return ssl({"x509", "-req", "-in", d + name + ".csr", "-CA", d + "ca.crt", "-CAkey", d + "ca.key", "-CAserial",
                d + "ca.srl", "-CAcreateserial", "-days", "30", "-out", d + name + ".crt", "-extfile",
                d + name + ".ext"});
  };
  if (!ssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", d + "ca.key",
            "-out", d + "ca.crt", "-days", "30", "-subj", "/CN=pisigner-test-etcd-ca"})) {
    return false;
  }
  // Members need both EKUs: peers present them as client certs, and the gateway dials its own
  // gRPC port with them (serverAuth alone makes every /v3 call fail with 503).
  for (int i = 0; i < size(); ++i) {
    const auto& m = members_[static_cast<std::size_t>(i)];
    const std::string san = host(i) == "127.0.0.1" ? "IP:127.0.0.1" : "IP:127.0.0.1,IP:" + host(i);
    if (!key_and_csr(m->name, "/CN=" + m->name) ||
        !sign(m->name, "subjectAltName=" + san + "\nextendedKeyUsage=serverAuth,clientAuth\n")) {
      return false;
    }
  }
  return key_and_csr("root", "/CN=root") && sign("root", "extendedKeyUsage=clientAuth\n") &&
         key_and_csr("client", "/O=pisigner") && sign("client", "extendedKeyUsage=clientAuth\n");
}

std::vector<std::string> EtcdCluster::member_argv(int i) const {
  const auto& m = *members_.at(static_cast<std::size_t>(i));
  const std::string scheme = options_.tls ? "https://" : "http://";
  std::string initial;
  for (int p = 0; p < size(); ++p) {
    if (!initial.empty()) initial += ",";
    initial += members_[static_cast<std::size_t>(p)]->name + "=" + scheme + host(p) + ":" +
               std::to_string(members_[static_cast<std::size_t>(p)]->peer_port);
  }
  const std::string client_url = scheme + host(i) + ":" + std::to_string(m.client_port);
  const std::string peer_url = scheme + host(i) + ":" + std::to_string(m.peer_port);
  // As the roles render it: a member on another address answers on its host's loopback too.
  const std::string local_url =
      host(i) == "127.0.0.1" ? "" : "," + scheme + "127.0.0.1:" + std::to_string(m.client_port);
  // `--initial-cluster-state new` is ignored once the data dir holds a member: restarts reuse argv.
  std::vector<std::string> argv = {kEtcd,
                                   "--name=" + m.name,
                                   "--data-dir=" + (dir_ / (m.name + ".data")).string(),
                                   "--listen-client-urls=" + client_url + local_url,
                                   "--advertise-client-urls=" + client_url,
                                   "--listen-peer-urls=" + peer_url,
                                   "--initial-advertise-peer-urls=" + peer_url,
                                   "--initial-cluster=" + initial,
                                   "--initial-cluster-token=pisigner-test-" + dir_.filename().string(),
                                   "--initial-cluster-state=new",
                                   "--heartbeat-interval=" + std::to_string(options_.heartbeat_ms),
                                   "--election-timeout=" + std::to_string(options_.election_ms),
                                   "--logger=zap",
                                   "--log-outputs=stderr"};
  if (options_.tls) {
    const auto d = dir_.string() + "/";
    for (const auto& a : {"--cert-file=" + d + m.name + ".crt", "--key-file=" + d + m.name + ".key",
                          "--trusted-ca-file=" + d + "ca.crt", std::string("--client-cert-auth"),
                          "--peer-cert-file=" + d + m.name + ".crt", "--peer-key-file=" + d + m.name + ".key",
                          "--peer-trusted-ca-file=" + d + "ca.crt", std::string("--peer-client-cert-auth")}) {
      argv.push_back(a);
    }
  }
  if (options_.quota_backend_bytes) {
    argv.push_back("--quota-backend-bytes=" + std::to_string(*options_.quota_backend_bytes));
  }
  return argv;
}

std::string EtcdCluster::log_tail(int i) const {
  std::ifstream f(dir_ / (members_.at(static_cast<std::size_t>(i))->name + ".log"));
  std::stringstream s;
  s << f.rdbuf();
  auto text = s.str();
  return text.size() > 3000 ? "..." + text.substr(text.size() - 3000) : text;
}

bool EtcdCluster::form() {
  for (int i = 0; i < size(); ++i) start(i);
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  for (;;) {
    for (int i = 0; i < size(); ++i) {
      if (!running(i)) {
        ADD_FAILURE() << "etcd member " << i << " exited during formation (port taken?):\n" << log_tail(i);
        return false;
      }
    }
    // Short timeouts: a member not listening yet, or no leader yet, would hold each try for seconds.
    auto [rc, out] = etcdctl({"endpoint", "health", "--dial-timeout=300ms", "--command-timeout=500ms"});
    if (rc == 0) break;
    if (Clock::now() > deadline) {
      ADD_FAILURE() << "etcd cluster not healthy after 20 s:\n" << out << "\nmember 0 log:\n" << log_tail(0);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Raft ids do not change across restarts: leader() maps the elected id back to an index.
  for (int i = 0; i < size(); ++i) {
    auto st = status(i);
    if (!st) {
      ADD_FAILURE() << "etcdctl endpoint status failed for member " << i;
      return false;
    }
    members_[static_cast<std::size_t>(i)]->id = st->first;
  }
  return true;
}

bool EtcdCluster::setup_auth() {
  const std::vector<std::vector<std::string>> steps = {
      {"user", "add", "root", "--new-user-password=" + root_password_},
      {"role", "add", "pisigner"},
      {"role", "grant-permission", "pisigner", "--prefix=true", "readwrite", kSignerPrefix},
      {"user", "add", kGatewayUser, "--new-user-password=" + password_},
      {"user", "grant-role", kGatewayUser, "pisigner"},
      {"auth", "enable"},
  };
  for (const auto& step : steps) {
    auto [rc, out] = etcdctl(step);
    if (rc != 0) {
      ADD_FAILURE() << "etcdctl " << step[0] << " " << step[1] << " failed:\n" << out;
      return false;
    }
  }
  auth_enabled_ = true;
  write_file(password_file(), password_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return true;
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> out;
  for (int i = 0; i < size(); ++i) out.push_back(endpoint(i));
  return out;
}

std::string EtcdCluster::endpoint(int i) const {
  return std::string(options_.tls ? "https://" : "http://") + host(i) + ":" + std::to_string(client_port(i));
}

std::string EtcdCluster::host(int i) const {
  const auto at = static_cast<std::size_t>(i);
  return at < options_.hosts.size() && !options_.hosts[at].empty() ? options_.hosts[at] : "127.0.0.1";
}

std::uint16_t EtcdCluster::client_port(int i) const { return members_.at(static_cast<std::size_t>(i))->client_port; }

std::string EtcdCluster::ca_file() const { return options_.tls ? (dir_ / "ca.crt").string() : ""; }
std::string EtcdCluster::client_cert() const { return options_.tls ? (dir_ / "client.crt").string() : ""; }
std::string EtcdCluster::client_key() const { return options_.tls ? (dir_ / "client.key").string() : ""; }
std::string EtcdCluster::root_cert() const { return options_.tls ? (dir_ / "root.crt").string() : ""; }
std::string EtcdCluster::root_key() const { return options_.tls ? (dir_ / "root.key").string() : ""; }
std::string EtcdCluster::user() const { return options_.auth ? kGatewayUser : ""; }
std::string EtcdCluster::password() const { return options_.auth ? password_ : ""; }
std::string EtcdCluster::password_file() const { return options_.auth ? (dir_ / "pisigner-a.password").string() : ""; }

void EtcdCluster::kill(int i) {
  auto& m = *members_.at(static_cast<std::size_t>(i));
  if (!m.proc) return;
  m.proc->signal(SIGKILL);
  m.proc->wait(std::chrono::seconds(10));
  m.proc.reset();
}

void EtcdCluster::stop(int i) {
  auto& m = *members_.at(static_cast<std::size_t>(i));
  if (!m.proc) return;
  m.proc->signal(SIGTERM);
  if (!m.proc->wait(std::chrono::seconds(15))) ADD_FAILURE() << "etcd member " << i << " ignored SIGTERM for 15 s";
  kill(i);
}

void EtcdCluster::start(int i) {
  auto& m = *members_.at(static_cast<std::size_t>(i));
  if (m.proc && m.proc->running()) return;
  auto argv = member_argv(i);
  // Members die with the test even when it is SIGKILLed (ctest timeout): setpriv execs etcd with
  // PR_SET_PDEATHSIG, so the pid stays etcd's.
  if (std::filesystem::exists(kSetpriv)) argv.insert(argv.begin(), {kSetpriv, "--pdeathsig", "KILL", "--"});
  const auto at = static_cast<std::size_t>(i);
  ScopedNetns in(at < options_.netns.size() ? options_.netns[at] : "");
  m.proc = std::make_unique<Process>(argv, (dir_ / (m.name + ".log")).string());
}

bool EtcdCluster::running(int i) {
  auto& m = *members_.at(static_cast<std::size_t>(i));
  return m.proc && m.proc->running();
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> EtcdCluster::status(int i) {
  auto [rc, out] = etcdctl({"endpoint", "status", "-w", "json", "--endpoints=" + endpoint(i), "--dial-timeout=500ms",
                            "--command-timeout=500ms"});
  if (rc != 0 || out.find('[') == std::string::npos) return std::nullopt;
  try {
    const auto j = nlohmann::json::parse(out.substr(out.find('['))).at(0).at("Status");
    return std::pair{j.at("header").at("member_id").get<std::uint64_t>(), j.at("leader").get<std::uint64_t>()};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

int EtcdCluster::leader() {
  // Followers keep naming a dead leader until their election timeout: the leader must answer too.
  std::map<std::uint64_t, int> votes;
  std::map<std::uint64_t, int> self_elected;  // member id → index, for members that say they lead
  for (int i = 0; i < size(); ++i) {
    if (!running(i)) continue;
    auto st = status(i);
    if (!st || st->second == 0) continue;
    ++votes[st->second];
    if (st->first == st->second) self_elected[st->first] = i;
  }
  for (auto [id, n] : votes) {
    if (n > size() / 2 && self_elected.count(id)) return self_elected[id];
  }
  return -1;
}

int EtcdCluster::wait_for_leader(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int l = leader();
    if (l >= 0 || Clock::now() > deadline) return l;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool EtcdCluster::move_leader(int i) {
  const int from = wait_for_leader(std::chrono::seconds(10));
  if (from < 0) return false;
  if (from != i) {
    const auto st = status(i);
    if (!st) return false;
    std::ostringstream id;
    id << std::hex << st->first;  // move-leader takes the member id in hex, as `member list` prints it
    auto [rc, out] = etcdctl({"--endpoints=" + endpoint(from), "move-leader", id.str()});
    if (rc != 0) {
      ADD_FAILURE() << "etcdctl move-leader " << id.str() << ": " << out;
      return false;
    }
  }
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (leader() != i) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

std::string EtcdCluster::running_endpoints() {
  std::string eps, all;
  for (int i = 0; i < size(); ++i) {
    // Appended piecewise: GCC 12 -O3 reports a false -Wrestrict on `"," + std::string`.
    if (!all.empty()) all += ',';
    all += endpoint(i);
    if (!running(i)) continue;
    if (!eps.empty()) eps += ',';
    eps += endpoint(i);
  }
  return eps.empty() ? all : eps;
}

std::pair<int, std::string> EtcdCluster::etcdctl(const std::vector<std::string>& args, const std::string& stdin_text) {
  std::vector<std::string> argv = {kEtcdctl, "--dial-timeout=2s", "--command-timeout=5s"};
  // --endpoints is a list flag: a second one would add to the first instead of replacing it.
  if (std::none_of(args.begin(), args.end(), [](const auto& a) { return a.rfind("--endpoints", 0) == 0; })) {
    argv.push_back("--endpoints=" + running_endpoints());
  }
  if (options_.tls) {
    // With --client-cert-auth the CN is the user: root, no password needed.
    argv.insert(argv.end(), {"--cacert=" + ca_file(), "--cert=" + root_cert(), "--key=" + root_key()});
  } else if (auth_enabled_) {
    argv.push_back("--user=root:" + root_password_);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, stdin_text);
}

bool EtcdCluster::raise_nospace() {
  if (!options_.quota_backend_bytes) {
    ADD_FAILURE() << "raise_nospace() needs EtcdOptions::quota_backend_bytes";
    return false;
  }
  const std::string junk(64 * 1024, 'x');
  const auto max_puts = *options_.quota_backend_bytes / junk.size() * 3 + 20;
  for (std::uint64_t n = 0; n < max_puts; ++n) {
    auto [rc, out] = etcdctl({"put", kJunkPrefix + std::to_string(n)}, junk);
    if (rc == 0) continue;
    if (out.find("database space exceeded") != std::string::npos) return true;
    ADD_FAILURE() << "junk put failed for another reason:\n" << out;
    return false;
  }
  ADD_FAILURE() << "no NOSPACE after " << max_puts << " puts of 64 KiB";
  return false;
}

bool EtcdCluster::clear_nospace() {
  // Deletes are allowed under NOSPACE; deleting first lets defrag give the space back.
  auto [rc, out] = etcdctl({"del", "--prefix", kJunkPrefix});
  if (rc != 0) {
    ADD_FAILURE() << "etcdctl del junk:\n" << out;
    return false;
  }
  std::tie(rc, out) = etcdctl({"get", kJunkPrefix, "-w", "json"});
  std::uint64_t revision = 0;
  try {
    revision = nlohmann::json::parse(out.substr(out.find('{'))).at("header").at("revision").get<std::uint64_t>();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "cannot read the revision: " << e.what() << "\n" << out;
    return false;
  }
  const std::vector<std::vector<std::string>> steps = {
      {"compact", std::to_string(revision), "--physical"},
      {"defrag"},
      {"alarm", "disarm"},
      {"put", std::string(kJunkPrefix) + "probe", "x"},
      {"del", std::string(kJunkPrefix) + "probe"},
  };
  for (const auto& step : steps) {
    std::tie(rc, out) = etcdctl(step);
    if (rc != 0) {
      ADD_FAILURE() << "etcdctl " << step[0] << " failed:\n" << out;
      return false;
    }
  }
  std::tie(rc, out) = etcdctl({"alarm", "list"});
  if (rc != 0 || out.find("alarm:") != std::string::npos) {
    ADD_FAILURE() << "alarms left after clear_nospace:\n" << out;
    return false;
  }
  return true;
}

}  // namespace pisigner::testing
