// TcpTransport against a scripted in-process server on 127.0.0.1 (ephemeral port).
#include "pisigner/ledger/tcp_transport.hpp"

#include "pisigner/ledger/protocol.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <thread>

namespace pisigner::ledger {
namespace {
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

// Accepts connections one after another and runs `script(fd, index)` on each.
class ScriptedServer {
 public:
  using Script = std::function<void(int fd, int index)>;
  explicit ScriptedServer(Script script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listen_fd_, 4), 0);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (int i = 0;; ++i) {
        const int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;
        script_(fd, i);
        ::close(fd);
      }
    });
  }
  ~ScriptedServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    thread_.join();
  }
  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

 private:
  Script script_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

Bytes read_n(int fd, std::size_t n) {
  Bytes b(n);
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::recv(fd, b.data() + got, n - got, 0);
    if (r <= 0) return {};
    got += static_cast<std::size_t>(r);
  }
  return b;
}

Bytes read_request(int fd) {
  Bytes len = read_n(fd, 4);
  if (len.size() != 4) return {};
  return read_n(fd, read_be32(len, 0));
}

void send_hex(int fd, std::string_view hex) {
  Bytes b = *from_hex(hex);
  ASSERT_EQ(::send(fd, b.data(), b.size(), MSG_NOSIGNAL), static_cast<ssize_t>(b.size()));
}

const Apdu kVersion{kCla, 0x00, 0, 0, {}};

TEST(TcpTransport, NormalExchangeWithReplySplitAcrossWrites) {
  Bytes seen;
  ScriptedServer server([&](int fd, int) {
    seen = read_request(fd);
    send_hex(fd, "0000");
    std::this_thread::sleep_for(20ms);
    send_hex(fd, "000401020501");
    std::this_thread::sleep_for(20ms);
    send_hex(fd, "9000");
    read_request(fd);  // wait for the client to close
  });
  auto t = TcpTransport::connect(server.url(), 1s);
  ASSERT_TRUE(t) << t.error().message;
  auto r = (*t)->exchange(kVersion, 1s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->sw, 0x9000);
  EXPECT_EQ(r->data, *from_hex("01020501"));
  EXPECT_EQ(seen, *from_hex("8000000000"));  // Lc always sent
  EXPECT_EQ((*t)->describe(), server.url());
  t->reset();
}

TEST(TcpTransport, ErrorStatusWithNoData) {
  ScriptedServer server([&](int fd, int) {
    read_request(fd);
    send_hex(fd, "000000006a80");
    read_request(fd);
  });
  auto t = TcpTransport::connect(server.url(), 1s);
  ASSERT_TRUE(t);
  auto r = (*t)->exchange(kVersion, 1s);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->data.empty());
  EXPECT_EQ(r->sw, 0x6A80);
  t->reset();
}

TEST(TcpTransport, HugeDeclaredLengthIsProtocolErrorAndNextExchangeReconnects) {
  ScriptedServer server([&](int fd, int index) {
    read_request(fd);
    if (index == 0) {
      send_hex(fd, "ffffffff9000");
    } else {
      send_hex(fd, "00000004010205019000");
    }
    read_request(fd);
  });
  auto t = TcpTransport::connect(server.url(), 1s);
  ASSERT_TRUE(t);
  const auto start = Steady::now();
  auto r = (*t)->exchange(kVersion, 2s);
  EXPECT_LT(Steady::now() - start, 1s);  // refused at once, not after reading 4 GiB
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, TransportErrc::Protocol);
  auto again = (*t)->exchange(kVersion, 1s);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->sw, 0x9000);
  t->reset();
}

TEST(TcpTransport, CloseMidFrameIsDisconnected) {
  ScriptedServer server([&](int fd, int) {
    read_request(fd);
    send_hex(fd, "000000040102");
  });
  auto t = TcpTransport::connect(server.url(), 1s);
  ASSERT_TRUE(t);
  auto r = (*t)->exchange(kVersion, 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, TransportErrc::Disconnected);
}

TEST(TcpTransport, CloseBeforeHeaderIsDisconnected) {
  ScriptedServer server([&](int fd, int) {
    read_request(fd);
    send_hex(fd, "00");
  });
  auto t = TcpTransport::connect(server.url(), 1s);
  ASSERT_TRUE(t);
  auto r = (*t)->exchange(kVersion, 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, TransportErrc::Disconnected);
}

TEST(TcpTransport, NoReplyTimesOutWithinTheDeadline) {
  std::atomic<bool> release{false};
  ScriptedServer server([&](int fd, int) {
    read_request(fd);
    while (!release) std::this_thread::sleep_for(5ms);
  });
  auto t = TcpTransport::connect(server.url(), 1s);
  ASSERT_TRUE(t);
  const auto start = Steady::now();
  auto r = (*t)->exchange(kVersion, 150ms);
  const auto elapsed = Steady::now() - start;
  release = true;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, TransportErrc::Timeout);
  EXPECT_GE(elapsed, 140ms);
  EXPECT_LT(elapsed, 1s);
}

TEST(TcpTransport, RefusedConnectionIsDisconnected) {
  std::string url;
  { ScriptedServer server([](int, int) {}); url = server.url(); }  // port now closed
  auto t = TcpTransport::connect(url, 1s);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, TransportErrc::Disconnected);
}

TEST(TcpUrl, Parsing) {
  auto a = parse_tcp_url("tcp://127.0.0.1:9999");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9999);
  auto b = parse_tcp_url("tcp://[::1]:40000");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 40000);
  for (const char* bad : {"127.0.0.1:9999", "tcp://127.0.0.1", "tcp://:9999", "tcp://h:0", "tcp://h:65536",
                          "tcp://h:9x", "tcp://[::1]9999", "hid:/dev/hidraw0"}) {
    EXPECT_FALSE(parse_tcp_url(bad)) << bad;
  }
}

}  // namespace
}  // namespace pisigner::ledger
