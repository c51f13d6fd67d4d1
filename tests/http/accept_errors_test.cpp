// Accept errors: with the descriptor table full, accept() fails with EMFILE while the listening
// socket stays readable, so an acceptor that retries at once spins on a core. The server must back
// off and serve the waiting client once descriptors free up. Its own executable: it lowers
// RLIMIT_NOFILE and fills the descriptor table of the whole process.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "pisigner/http/server.hpp"

namespace pisigner::http {
namespace {

using namespace std::chrono_literals;
using Clk = std::chrono::steady_clock;

class OkHandler final : public Handler {
 public:
  Response handle(const Request&) override { return Response{200, "text/plain", "ok", {}}; }
  bool blocking(const Request&) const override { return false; }
};

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Reads until the end of the first reply's head or the deadline.
std::string read_reply(int fd, std::chrono::milliseconds timeout) {
  std::string got;
  const auto until = Clk::now() + timeout;
  while (got.find("\r\n\r\n") == std::string::npos && Clk::now() < until) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clk::now()).count();
    if (poll(&p, 1, static_cast<int>(std::max<long long>(left, 1))) <= 0) continue;
    char buf[512];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

TEST(ServerAccept, EmfileBacksOffInsteadOfSpinningAndRecovers) {
#if defined(__SANITIZE_ADDRESS__)
  // The sanitizers probe memory through a pipe: with no descriptor free they report false errors.
  GTEST_SKIP() << "needs free descriptors under the sanitizers";
#endif
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  rlimit low = old;
  low.rlim_cur = std::min<rlim_t>(old.rlim_cur, 256);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);

  OkHandler handler;
  ServerOptions o;
  o.listen = {"127.0.0.1:0"};
  o.io_threads = 1;
  Server server(handler, o);
  ASSERT_TRUE(server.start().ok());
  const std::uint16_t port = server.ports().at(0);

  // Fill the table, then free one descriptor for the client: the server's accept has none left.
  std::vector<int> fillers;
  for (;;) {
    const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      ASSERT_EQ(errno, EMFILE);
      break;
    }
    fillers.push_back(fd);
  }
  ASSERT_FALSE(fillers.empty());
  close(fillers.back());
  fillers.pop_back();
  const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(client, 0) << errno;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << errno;  // into the backlog
  const std::string request = "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(send(client, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));

  const auto first_until = Clk::now() + 5s;
  while (server.stats().accept_errors == 0 && Clk::now() < first_until) std::this_thread::sleep_for(5ms);
  ASSERT_GE(server.stats().accept_errors, 1u) << "accept never failed: the descriptor table was not full";

  const auto errors_before = server.stats().accept_errors;
  const double cpu_before = cpu_seconds();
  std::this_thread::sleep_for(1s);
  const auto attempts = server.stats().accept_errors - errors_before;
  const double cpu = cpu_seconds() - cpu_before;
  // Backing off from 10 ms doubling to 1 s retries a handful of times a second; a spinning
  // acceptor retries tens of thousands of times.
  EXPECT_LE(attempts, 20u) << "accept retried " << attempts << " times in 1 s";
  EXPECT_LT(cpu, 0.25) << "the process burnt " << cpu << " s of CPU in 1 s with accept failing";

  for (int fd : fillers) close(fd);
  const std::string reply = read_reply(client, 5000ms);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << "no reply once descriptors were free: '" << reply << "'";
  close(client);
  server.stop();
  setrlimit(RLIMIT_NOFILE, &old);
}

}  // namespace
}  // namespace pisigner::http
