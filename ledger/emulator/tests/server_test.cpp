// The virtual Ledger over real loopback sockets: Speculos framing, one client at a time,
// fault injection through the control socket, and the pisigner-vledger process itself.
#include "pisigner/ledger/emulator/server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "test_util.hpp"

using namespace pisigner;
using namespace pisigner::ledger::emulator;
using namespace vledger_test;
using namespace std::chrono_literals;

namespace {

// A raw TCP client; closes on destruction.
class Conn {
 public:
  static std::optional<Conn> connect_to(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return std::nullopt;
    }
    return Conn(fd);
  }
  Conn(Conn&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  void send_bytes(const Bytes& b) { ASSERT_EQ(::send(fd_, b.data(), b.size(), MSG_NOSIGNAL), ssize_t(b.size())); }
  void send_frame(const Bytes& apdu_bytes) {
    Bytes f = be32(static_cast<std::uint32_t>(apdu_bytes.size()));
    f.insert(f.end(), apdu_bytes.begin(), apdu_bytes.end());
    send_bytes(f);
  }
  // Reads until `n` bytes arrived; nullopt on timeout, EOF or error.
  std::optional<Bytes> read_n(std::size_t n, std::chrono::milliseconds timeout = 3000ms) {
    Bytes out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      std::uint8_t buf[512];
      ssize_t got = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
      if (got <= 0) return std::nullopt;
      out.insert(out.end(), buf, buf + got);
    }
    return out;
  }
  // A whole Speculos reply: u32 N || N data || SW.
  std::optional<Bytes> read_reply(std::chrono::milliseconds timeout = 3000ms) {
    auto head = read_n(4, timeout);
    if (!head) return std::nullopt;
    auto rest = read_n(read_be32(*head, 0) + 2, timeout);
    if (!rest) return std::nullopt;
    head->insert(head->end(), rest->begin(), rest->end());
    return head;
  }
  bool closed_by_peer(std::chrono::milliseconds timeout = 3000ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    std::uint8_t b;
    return ::recv(fd_, &b, 1, 0) == 0;
  }
  std::string command(const std::string& line) {
    std::string l = line + "\n";
    send_bytes(Bytes(l.begin(), l.end()));
    std::string reply;
    while (auto b = read_n(1)) {
      if ((*b)[0] == '\n') break;
      reply += static_cast<char>((*b)[0]);
    }
    return reply;
  }

 private:
  explicit Conn(int fd) : fd_(fd) {}
  int fd_;
};

std::string hex_reply(Conn& c) {
  auto r = c.read_reply();
  return r ? to_hex(*r) : "timeout";
}

const Bytes kVersion = apdu(0x00, 0, 0, {});

class VirtualLedger : public ::testing::Test {
 protected:
  VirtualLedger()
      : model(Keyring::from_mnemonic(kTestMnemonic), AppState{}),
        controller(model, Faults{}, AppState{}, PromptAnswer::Approve) {
    ServerOptions o;
    o.apdu_port = 0;
    o.control_port = 0;
    auto s = Server::create(model, controller, o, real_clock());
    EXPECT_TRUE(s.ok());
    server = std::move(*s);
    thread = std::thread([this] { server->run(); });
    control.emplace(*Conn::connect_to(server->control_port()));
  }
  ~VirtualLedger() override {
    server->stop();
    thread.join();
  }
  Conn client() {
    auto c = Conn::connect_to(server->apdu_port());
    EXPECT_TRUE(c.has_value());
    return std::move(*c);
  }
  void ctl(const std::string& line) { ASSERT_EQ(control->command(line).rfind("OK", 0), 0u) << line; }

  BakingAppModel model;
  Controller controller;
  std::unique_ptr<Server> server;
  std::thread thread;
  std::optional<Conn> control;
};

}  // namespace

TEST_F(VirtualLedger, VersionOverSpeculosFraming) {
  Conn c = client();
  c.send_frame(kVersion);
  EXPECT_EQ(hex_reply(c), "00000004010205019000");
  c.send_frame(apdu(0x42, 0, 0, {}));
  EXPECT_EQ(hex_reply(c), "000000006d00") << "N excludes the status word";
}

TEST_F(VirtualLedger, PipelinedFramesAreAnsweredInOrder) {
  Conn c = client();
  Bytes two = be32(5);
  two.insert(two.end(), kVersion.begin(), kVersion.end());
  Bytes q = apdu(0x08, 0, 0, {});
  Bytes f2 = be32(5);
  f2.insert(f2.end(), q.begin(), q.end());
  two.insert(two.end(), f2.begin(), f2.end());
  c.send_bytes(two);
  EXPECT_EQ(hex_reply(c), "00000004010205019000");
  EXPECT_EQ(hex_reply(c), "00000008000000000000000090" "00");
}

TEST_F(VirtualLedger, NewClientReplacesTheOld) {
  Conn a = client();
  a.send_frame(kVersion);
  ASSERT_EQ(hex_reply(a), "00000004010205019000");
  Conn b = client();
  b.send_frame(kVersion);
  EXPECT_EQ(hex_reply(b), "00000004010205019000");
  EXPECT_TRUE(a.closed_by_peer());
}

TEST_F(VirtualLedger, LockedAnswers5515) {
  Conn c = client();
  ctl("locked on");
  c.send_frame(kVersion);
  EXPECT_EQ(hex_reply(c), "000000005515");
  c.send_frame(apdu(0x02, 0, 0, path_bytes(kTezosPath)));
  EXPECT_EQ(hex_reply(c), "000000005515");
  ctl("locked off");
  c.send_frame(kVersion);
  EXPECT_EQ(hex_reply(c), "00000004010205019000");
}

TEST_F(VirtualLedger, AppClosedAnswers6E00EvenToVersion) {
  Conn c = client();
  ctl("app_closed on");
  c.send_frame(kVersion);
  EXPECT_EQ(hex_reply(c), "000000006e00");
  ctl("app_closed off");
  c.send_frame(kVersion);
  EXPECT_EQ(hex_reply(c), "00000004010205019000");
}

TEST_F(VirtualLedger, HangReadsButNeverReplies) {
  Conn c = client();
  ctl("hang on");
  c.send_frame(kVersion);
  EXPECT_FALSE(c.read_reply(400ms).has_value()) << "a hung device must make the client time out";
  ctl("hang off");
  c.send_frame(kVersion);
  EXPECT_EQ(hex_reply(c), "00000004010205019000") << "the dropped APDU is never answered";
}

TEST_F(VirtualLedger, DisconnectClosesAndRefusesUntilReconnect) {
  Conn c = client();
  c.send_frame(kVersion);
  ASSERT_EQ(hex_reply(c), "00000004010205019000");
  ctl("disconnect");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_FALSE(Conn::connect_to(server->apdu_port()).has_value()) << "connection must be refused";
  ctl("reconnect");
  Conn again = client();
  again.send_frame(kVersion);
  EXPECT_EQ(hex_reply(again), "00000004010205019000");
}

TEST_F(VirtualLedger, DelayAddsLatency) {
  Conn c = client();
  ctl("delay_ms 300");
  auto t0 = std::chrono::steady_clock::now();
  c.send_frame(kVersion);
  EXPECT_EQ(hex_reply(c), "00000004010205019000");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  ctl("delay_ms 0");
  t0 = std::chrono::steady_clock::now();
  c.send_frame(kVersion);
  EXPECT_EQ(hex_reply(c), "00000004010205019000");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 300ms);
}

TEST_F(VirtualLedger, PromptRefusalAndResetOverControl) {
  Conn c = client();
  ctl("prompt refuse");
  c.send_frame(apdu(0x06, 0, 0, be32(10)));
  EXPECT_EQ(hex_reply(c), "000000006985");
  ctl("prompt approve");
  c.send_frame(apdu(0x06, 0, 0, be32(10)));
  EXPECT_EQ(hex_reply(c), "000000009000");
  EXPECT_NE(control->command("status").find("main=10/0"), std::string::npos);
  ctl("reset");
  c.send_frame(apdu(0x08, 0, 0, {}));
  EXPECT_EQ(hex_reply(c), "00000008000000000000000090" "00");
}

// The executable: READY line, a signature, `ctl`, SIGTERM, and the state file across restarts.
TEST(VledgerProcess, ServesPersistsAndStopsOnSigterm) {
  auto dir = std::filesystem::temp_directory_path() / ("vledger-proc-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string state = (dir / "nvram.json").string();

  struct Child {
    pid_t pid;
    std::uint16_t apdu, control;
  };
  auto start = [&]() -> std::optional<Child> {
    int out[2];
    if (::pipe(out) != 0) return std::nullopt;
    pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::execl(VLEDGER_EXE, VLEDGER_EXE, "--apdu-port", "0", "--control-port", "0", "--print-ready", "--state-file",
              state.c_str(), "--authorize", "m/44'/1729'/0'/0'", "--curve", "ed25519", "--main-chain",
              "NetXdQprcVkpaWU", "--log-level", "warn", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* f = ::fdopen(out[0], "r");
    char line[128] = {};
    unsigned a = 0, c = 0;
    bool ok = std::fgets(line, sizeof line, f) && std::sscanf(line, "READY apdu=%u control=%u", &a, &c) == 2;
    std::fclose(f);
    if (!ok) return std::nullopt;
    return Child{pid, static_cast<std::uint16_t>(a), static_cast<std::uint16_t>(c)};
  };
  auto stop = [](const Child& ch) {
    ::kill(ch.pid, SIGTERM);
    int status = 0;
    ::waitpid(ch.pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  // SIGN_WITH_HASH of a block; returns the status word in hex.
  auto sign_block = [](Conn& c, std::uint32_t level) -> std::string {
    c.send_frame(apdu(0x0F, 0x00, 0, path_bytes(kTezosPath)));
    EXPECT_EQ(hex_reply(c), "000000009000");
    c.send_frame(apdu(0x0F, 0x81, 0, block(kMainnet, level, 0)));
    const std::string r = hex_reply(c);
    return r.size() >= 4 ? r.substr(r.size() - 4) : r;
  };

  auto first = start();
  ASSERT_TRUE(first.has_value());
  {
    Conn c = *Conn::connect_to(first->apdu);
    EXPECT_EQ(sign_block(c, 1000), "9000");
    // `ctl` mode of the same binary.
    std::string cmd = std::string(VLEDGER_EXE) + " ctl --control-port " + std::to_string(first->control) +
                      " locked on > /dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    c.send_frame(kVersion);
    EXPECT_EQ(hex_reply(c), "000000005515");
  }
  EXPECT_EQ(stop(*first), 0);
  std::ifstream saved(state);
  std::string text((std::istreambuf_iterator<char>(saved)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"level\": 1000"), std::string::npos) << text;

  auto second = start();
  ASSERT_TRUE(second.has_value());
  {
    Conn c = *Conn::connect_to(second->apdu);
    EXPECT_EQ(sign_block(c, 1000), "6a80") << "the watermark survived the restart";
    EXPECT_EQ(sign_block(c, 1001), "9000");
  }
  EXPECT_EQ(stop(*second), 0);
  std::filesystem::remove_all(dir);
}
