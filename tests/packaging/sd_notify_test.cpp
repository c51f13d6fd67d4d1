// pisignerd speaks the sd_notify protocol the way pisignerd.service (Type=notify, WatchdogSec=)
// relies on: READY=1 only once its listeners accept connections, STATUS= lines, WATCHDOG=1 at half
// the interval systemd passes in WATCHDOG_USEC, STOPPING=1 on SIGTERM, and no READY=1 at all on a
// broken configuration (exit 78, which the unit does not restart).
// Usage: sd_notify_test <path to pisignerd>
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string g_pisignerd;
std::string g_pisignerctl;

// A testnet-only soft key (from the octez test vectors used in tests/tezos).
constexpr const char* kSecretKey = "unencrypted:edsk4TjJWEszkHKono7XMnepVqwi37FrpbVt1KCsifJeAGimxheShG";

struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "pisigner-notify-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// The socket systemd would pass in NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const fs::path& path) : path_(path), fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (::bind(fd_.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ADD_FAILURE() << "bind " << path;
  }
  const fs::path& path() const { return path_; }
  // One datagram, or nullopt when none arrives within the timeout.
  std::optional<std::string> receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_.fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    char buf[4096];
    ssize_t n = ::recv(fd_.fd, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<std::size_t>(n));
  }

 private:
  fs::path path_;
  Fd fd_;
};

bool has_line(const std::string& msg, const std::string& line) {
  return ("\n" + msg + "\n").find("\n" + line + "\n") != std::string::npos;
}

// pisignerd as a child process, its stdout on a pipe; killed and reaped if still running.
class Daemon {
 public:
  Daemon(const fs::path& config, std::vector<std::string> env) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      for (auto& e : env) {
        if (e == "WATCHDOG_PID=self") e = "WATCHDOG_PID=" + std::to_string(::getpid());
        ::putenv(e.data());
      }
      ::execl(g_pisignerd.c_str(), g_pisignerd.c_str(), "--config", config.c_str(), "--print-ports", nullptr);
      ::_exit(127);
    }
    ::close(out[1]);
    stdout_.fd = out[0];
  }
  ~Daemon() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // "LISTENING <port>..." from --print-ports; 0 if the line is not there within the timeout.
  int listening_port(std::chrono::milliseconds timeout) {
    std::string line;
    auto end = Clock::now() + timeout;
    while (Clock::now() < end) {
      pollfd p{stdout_.fd, POLLIN, 0};
      if (::poll(&p, 1, 100) != 1) continue;
      char c;
      if (::read(stdout_.fd, &c, 1) != 1) return 0;
      if (c == '\n') break;
      line += c;
    }
    if (line.rfind("LISTENING ", 0) != 0) return 0;
    return std::atoi(line.c_str() + 10);
  }
  // Exit status, or -1 if still running after the timeout.
  int wait_exit(std::chrono::milliseconds timeout) {
    auto end = Clock::now() + timeout;
    while (Clock::now() < end) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  Fd stdout_;
};

// GET /healthz on loopback; true on an HTTP 200.
bool healthz_ok(int port) {
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return false;
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(s.fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return false;
  timeval tv{5, 0};
  ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[64];
  ssize_t n = ::recv(s.fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return false;
  return std::string(buf, static_cast<std::size_t>(n)).rfind("HTTP/1.1 200", 0) == 0;
}

class SdNotify : public ::testing::Test {
 protected:
  TempDir dir;
  NotifySocket notify{dir.path / "notify.sock"};

  fs::path write_config(bool with_key) {
    fs::path p = dir.path / "pisigner.toml";
    std::ofstream f(p);
    f << "[server]\nlisten = [\"127.0.0.1:0\"]\nadmin_listen = [\"127.0.0.1:0\"]\n[store]\npath = \"" << (dir.path / "store").string() << "\"\n";
    if (with_key) f << "[[key]]\nbackend = \"soft\"\nsecret_key = \"" << kSecretKey << "\"\n";
    f.close();
    fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write);  // it holds a secret_key
    // pisignerd never creates its store.
    const std::string init = g_pisignerctl + " hwm init --store " + (dir.path / "store").string() + " >/dev/null";
    if (!fs::exists(dir.path / "store" / "hwm.sqlite") && std::system(init.c_str()) != 0) ADD_FAILURE() << init;
    return p;
  }
  std::string notify_env() const { return "NOTIFY_SOCKET=" + notify.path().string(); }
};

TEST_F(SdNotify, ReadyArrivesOnlyOnceTheListenerAcceptsAndCarriesStatus) {
  Daemon d(write_config(true), {notify_env()});
  auto first = notify.receive(15s);
  ASSERT_TRUE(first) << "no notification within 15 s";
  EXPECT_TRUE(has_line(*first, "READY=1")) << "first notification was not READY: " << *first;
  EXPECT_NE(first->find("STATUS="), std::string::npos) << *first;
  // --print-ports writes the port before READY; at READY the listener must already accept.
  int port = d.listening_port(2s);
  ASSERT_GT(port, 0);
  EXPECT_TRUE(healthz_ok(port));
  // Without WATCHDOG_USEC the watchdog is off: nothing more is sent.
  auto more = notify.receive(700ms);
  EXPECT_FALSE(more && more->find("WATCHDOG=1") != std::string::npos) << *more;
}

TEST_F(SdNotify, WatchdogPingsKeepComingWellWithinTheInterval) {
  // As systemd does for WatchdogSec=1s: WATCHDOG_USEC plus WATCHDOG_PID of the main process.
  Daemon d(write_config(true), {notify_env(), "WATCHDOG_USEC=1000000", "WATCHDOG_PID=self"});
  auto ready = notify.receive(15s);
  ASSERT_TRUE(ready && has_line(*ready, "READY=1"));
  std::vector<Clock::time_point> pings;
  auto start = Clock::now();
  auto last = start;
  while (Clock::now() - start < 3200ms) {
    auto m = notify.receive(1500ms);
    if (!m) break;
    if (!has_line(*m, "WATCHDOG=1")) continue;
    EXPECT_NE(m->find("STATUS="), std::string::npos) << *m;
    pings.push_back(Clock::now());
  }
  ASSERT_GE(pings.size(), 5u) << "expected a ping about every 500 ms";
  for (auto t : pings) {
    EXPECT_LT(t - last, 1000ms) << "a gap this long would trip WatchdogSec=1s";
    last = t;
  }
}

TEST_F(SdNotify, NoPingsWhenTheWatchdogBelongsToAnotherProcess) {
  // sd_watchdog_enabled() ignores WATCHDOG_USEC meant for another PID (e.g. a forked helper).
  Daemon d(write_config(true), {notify_env(), "WATCHDOG_USEC=200000", "WATCHDOG_PID=1"});
  auto ready = notify.receive(15s);
  ASSERT_TRUE(ready && has_line(*ready, "READY=1"));
  auto more = notify.receive(800ms);
  EXPECT_FALSE(more && more->find("WATCHDOG=1") != std::string::npos) << *more;
}

TEST_F(SdNotify, SigtermSendsStoppingAndExitsZero) {
  Daemon d(write_config(true), {notify_env()});
  auto ready = notify.receive(15s);
  ASSERT_TRUE(ready && has_line(*ready, "READY=1"));
  ASSERT_EQ(::kill(d.pid(), SIGTERM), 0);
  bool stopping = false;
  while (auto m = notify.receive(5s)) {
    if (has_line(*m, "STOPPING=1")) {
      stopping = true;
      break;
    }
  }
  EXPECT_TRUE(stopping);
  EXPECT_EQ(d.wait_exit(10s), 0);
}

TEST_F(SdNotify, BrokenConfigExits78WithoutReady) {
  Daemon d(write_config(false), {notify_env()});
  EXPECT_EQ(d.wait_exit(10s), 78);
  auto m = notify.receive(200ms);
  EXPECT_FALSE(m) << "sent " << *m;
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <pisignerd> <pisignerctl>\n", argv[0]);
    return 2;
  }
  g_pisignerd = argv[1];
  g_pisignerctl = argv[2];
  return RUN_ALL_TESTS();
}
