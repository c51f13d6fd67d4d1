#include "pisigner/ledger/tcp_transport.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace pisigner::ledger {
namespace {
using std::chrono::milliseconds;

TransportError err(TransportErrc c, std::string m) { return TransportError{c, std::move(m)}; }

struct AddrInfoDeleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoDeleter>;

// One errno -> TransportError mapping for this file.
TransportError from_errno(int e, const std::string& what) {
  const bool gone = e == ECONNRESET || e == EPIPE || e == ECONNREFUSED || e == ENOTCONN ||
                    e == EHOSTUNREACH || e == ENETUNREACH || e == ECONNABORTED;
  return err(gone ? TransportErrc::Disconnected : TransportErrc::Io, what + ": " + std::strerror(e));
}

int ms_left(Clock& clock, Clock::TimePoint deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - clock.now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1'000'000));
}

// Waits for `events` on fd until the deadline. Timeout error when it passes.
Result<void, TransportError> wait_fd(Clock& clock, int fd, short events, Clock::TimePoint deadline) {
  while (true) {
    const int left = ms_left(clock, deadline);
    if (left == 0) return fail(err(TransportErrc::Timeout, "no reply from the emulator before the deadline"));
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(from_errno(errno, "poll"));
    }
    if (n > 0) return {};  // readiness, hang-up and error all surface in the next recv/send
  }
}

Result<void, TransportError> send_all(Clock& clock, int fd, ByteView data, Clock::TimePoint deadline) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    auto w = wait_fd(clock, fd, POLLOUT, deadline);
    if (!w) return w;
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return fail(from_errno(errno, "send"));
    }
    sent += static_cast<std::size_t>(n);
  }
  return {};
}

Result<void, TransportError> recv_exact(Clock& clock, int fd, std::uint8_t* out, std::size_t len,
                                        Clock::TimePoint deadline) {
  std::size_t got = 0;
  while (got < len) {
    auto w = wait_fd(clock, fd, POLLIN, deadline);
    if (!w) return w;
    const ssize_t n = ::recv(fd, out + got, len - got, MSG_DONTWAIT);
    if (n == 0) return fail(err(TransportErrc::Disconnected, "connection closed by the emulator mid-reply"));
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return fail(from_errno(errno, "recv"));
    }
    got += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

struct TcpTransport::Private {};

Result<TcpEndpoint, TransportError> parse_tcp_url(std::string_view url) {
  constexpr std::string_view kScheme = "tcp://";
  auto bad = [&](const char* why) {
    return fail(err(TransportErrc::Io, "invalid TCP address \"" + std::string(url) + "\": " + why));
  };
  if (url.substr(0, kScheme.size()) != kScheme) return bad("expected tcp://host:port");
  std::string_view rest = url.substr(kScheme.size());
  std::string_view host;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') return bad("bad IPv6 form");
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad("missing port");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return bad("missing host");
  if (port.empty() || port.size() > 5) return bad("bad port");
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad("bad port");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return bad("port out of range");
  return TcpEndpoint{std::string(host), static_cast<std::uint16_t>(value)};
}

Result<std::unique_ptr<TcpTransport>, TransportError> TcpTransport::connect(const TcpEndpoint& endpoint,
                                                                            milliseconds timeout, Clock& clock) {
  auto t = std::make_unique<TcpTransport>(Private{}, endpoint, clock);
  auto o = t->open(clock.now() + timeout);
  if (!o) return fail(std::move(o).error());
  return t;
}

Result<std::unique_ptr<TcpTransport>, TransportError> TcpTransport::connect(std::string_view url, milliseconds timeout,
                                                                            Clock& clock) {
  auto ep = parse_tcp_url(url);
  if (!ep) return fail(std::move(ep).error());
  return connect(*ep, timeout, clock);
}

TcpTransport::~TcpTransport() { close_socket(); }

void TcpTransport::close_socket() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  awaiting_reply_ = false;
}

std::string TcpTransport::describe() const {
  const bool v6 = endpoint_.host.find(':') != std::string::npos;
  return "tcp://" + (v6 ? "[" + endpoint_.host + "]" : endpoint_.host) + ":" + std::to_string(endpoint_.port);
}

Result<void, TransportError> TcpTransport::open(Clock::TimePoint deadline) {
  close_socket();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  const std::string port = std::to_string(endpoint_.port);
  if (int rc = ::getaddrinfo(endpoint_.host.c_str(), port.c_str(), &hints, &raw); rc != 0) {
    return fail(err(TransportErrc::Disconnected, "cannot resolve " + endpoint_.host + ": " + gai_strerror(rc)));
  }
  AddrInfoPtr list(raw);
  TransportError last = err(TransportErrc::Disconnected, "no address for " + endpoint_.host);
  for (const addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      last = from_errno(errno, "socket");
      continue;
    }
    fd_ = fd;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = from_errno(errno, "connect to " + describe());
      close_socket();
      continue;
    }
    auto w = wait_fd(clock_, fd, POLLOUT, deadline);
    if (!w) {
      last = err(TransportErrc::Timeout, "connect to " + describe() + " timed out");
      close_socket();
      continue;
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      last = from_errno(so_error, "connect to " + describe());
      close_socket();
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return {};
  }
  return fail(std::move(last));
}

Result<Reply, TransportError> TcpTransport::exchange(const Apdu& apdu, milliseconds timeout) {
  const auto deadline = clock_.now() + timeout;
  if (auto s = send_until(apdu, deadline); !s) return fail(std::move(s).error());
  return receive_until(deadline);
}

Result<void, TransportError> TcpTransport::send(const Apdu& apdu, milliseconds timeout) {
  return send_until(apdu, clock_.now() + timeout);
}

Result<Reply, TransportError> TcpTransport::receive(milliseconds timeout) { return receive_until(clock_.now() + timeout); }

Result<void, TransportError> TcpTransport::send_until(const Apdu& apdu, Clock::TimePoint deadline) {
  if (awaiting_reply_) return fail(err(TransportErrc::Protocol, "send() before the previous reply was read"));
  if (fd_ < 0) {
    auto o = open(deadline);
    if (!o) return fail(std::move(o).error());
  }
  Bytes frame;
  const Bytes raw = apdu.encode();
  append_be32(frame, static_cast<std::uint32_t>(raw.size()));
  frame.insert(frame.end(), raw.begin(), raw.end());
  if (auto s = send_all(clock_, fd_, frame, deadline); !s) {
    close_socket();  // the byte stream is out of step
    return fail(std::move(s).error());
  }
  awaiting_reply_ = true;
  return {};
}

Result<Reply, TransportError> TcpTransport::receive_until(Clock::TimePoint deadline) {
  if (!awaiting_reply_) return fail(err(TransportErrc::Protocol, "receive() without send()"));
  awaiting_reply_ = false;
  // Any failure below leaves the byte stream out of step: drop the connection.
  auto fail_closed = [&](TransportError e) {
    close_socket();
    return fail(std::move(e));
  };
  std::uint8_t header[4];
  if (auto r = recv_exact(clock_, fd_, header, sizeof header, deadline); !r) return fail_closed(std::move(r).error());
  const std::uint32_t n = read_be32(header, 0);
  if (n > kMaxTcpReply) {
    return fail_closed(err(TransportErrc::Protocol, "emulator declared an implausible reply length " + std::to_string(n)));
  }
  Bytes body(n + 2);
  if (auto r = recv_exact(clock_, fd_, body.data(), body.size(), deadline); !r) return fail_closed(std::move(r).error());
  Reply reply;
  reply.sw = read_be16(body, n);
  body.resize(n);
  reply.data = std::move(body);
  return reply;
}

}  // namespace pisigner::ledger
