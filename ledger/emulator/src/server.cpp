#include "pisigner/ledger/emulator/server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <vector>

#include "pisigner/ledger/emulator/frame_reader.hpp"
#include "pisigner/ledger/protocol.hpp"
#include "socket_util.hpp"

namespace pisigner::ledger::emulator {

namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr std::size_t kMaxControlLine = 1024;

const char* ins_name(std::uint8_t ins) {
  switch (static_cast<Ins>(ins)) {
    case Ins::Version: return "VERSION";
    case Ins::AuthorizeBaking: return "AUTHORIZE_BAKING";
    case Ins::GetPublicKey: return "GET_PUBLIC_KEY";
    case Ins::PromptPublicKey: return "PROMPT_PUBLIC_KEY";
    case Ins::Sign: return "SIGN";
    case Ins::Reset: return "RESET";
    case Ins::QueryAuthKey: return "QUERY_AUTH_KEY";
    case Ins::QueryMainHwm: return "QUERY_MAIN_HWM";
    case Ins::Git: return "GIT";
    case Ins::Setup: return "SETUP";
    case Ins::QueryAllHwm: return "QUERY_ALL_HWM";
    case Ins::Deauthorize: return "DEAUTHORIZE";
    case Ins::QueryAuthKeyWithCurve: return "QUERY_AUTH_KEY_WITH_CURVE";
    case Ins::Hmac: return "HMAC";
    case Ins::SignWithHash: return "SIGN_WITH_HASH";
  }
  return "UNKNOWN";
}

void set_send_timeout(int fd) {
  // A client that stops reading must not wedge the loop.
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

struct PendingReply {
  Clock::TimePoint due;
  Clock::TimePoint received;
  Bytes frame;
  std::uint8_t ins;
  std::uint16_t sw;
};

struct ControlClient {
  Fd fd;
  std::string buffer;
};

}  // namespace

struct Server::Impl {
  BakingAppModel& model;
  Controller& controller;
  const Clock& clock;
  ServerOptions options;
  std::function<void(const AppState&)> nvram_callback;

  Fd apdu_listener;
  std::uint16_t apdu_port = 0;
  Fd control_listener;
  std::uint16_t control_port = 0;
  Fd wake_read, wake_write;
  std::atomic<bool> stopping{false};

  Fd client;
  FrameReader client_in;
  std::deque<PendingReply> pending;
  std::vector<ControlClient> controls;
  std::uint64_t seen_generation = 0;

  Impl(BakingAppModel& m, Controller& c, const Clock& k, ServerOptions o)
      : model(m), controller(c), clock(k), options(std::move(o)), seen_generation(m.nvram_generation()) {}

  void drop_client(const char* why) {
    if (client) spdlog::info("APDU client closed ({})", why);
    client.reset();
    client_in.clear();
    pending.clear();
  }

  // Follows the `disconnect` fault: like an unplugged device, no socket to reach.
  void apply_connectivity() {
    if (controller.faults().disconnected && apdu_listener) {
      drop_client("disconnect fault");
      apdu_listener.reset();
      spdlog::info("APDU port {} closed (disconnect fault)", apdu_port);
    } else if (!controller.faults().disconnected && !apdu_listener) {
      auto l = listen_tcp(options.listen_address, apdu_port);
      if (l) {
        apdu_listener = std::move(*l);
        spdlog::info("APDU port {} listening again", apdu_port);
      } else {
        spdlog::error("reconnect: {}", l.error().message);
      }
    }
  }

  void notify_nvram() {
    if (model.nvram_generation() == seen_generation) return;
    seen_generation = model.nvram_generation();
    if (nvram_callback) nvram_callback(model.state());
  }

  void accept_client() {
    Fd fd(::accept4(apdu_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd) return;
    // Like Speculos, the newest client is the one that gets replies.
    if (client) drop_client("replaced by a new client");
    set_send_timeout(fd.get());
    client = std::move(fd);
    spdlog::info("APDU client connected");
  }

  void process_apdu(ByteView apdu) {
    const auto received = clock.now();
    const std::uint8_t ins = apdu.size() > 1 ? apdu[1] : 0xFF;
    const Faults& f = controller.faults();
    if (f.hang) {
      spdlog::debug("APDU {} dropped (hang fault)", ins_name(ins));
      return;
    }
    ApduResponse r;
    if (f.locked) r.sw = sw::kLocked;
    else if (f.app_closed) r.sw = sw::kClaNotSupported;
    else r = model.handle(apdu);
    Bytes frame;
    append_be32(frame, static_cast<std::uint32_t>(r.data.size()));
    Bytes msg = r.message();
    frame.insert(frame.end(), msg.begin(), msg.end());
    auto due = received + milliseconds(f.delay_ms);
    if (!pending.empty()) due = std::max(due, pending.back().due);
    pending.push_back(PendingReply{due, received, std::move(frame), ins, r.sw});
    notify_nvram();
  }

  void read_client() {
    std::uint8_t buf[4096];
    ssize_t n = ::recv(client.get(), buf, sizeof buf, 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) return;
      drop_client(n == 0 ? "peer closed" : std::strerror(errno));
      return;
    }
    client_in.feed(ByteView(buf, static_cast<std::size_t>(n)));
    while (client) {
      auto apdu = client_in.next();
      if (!apdu) break;
      process_apdu(*apdu);
    }
    if (client && client_in.broken()) drop_client("oversized frame");
  }

  void send_due() {
    const auto now = clock.now();
    while (client && !pending.empty() && pending.front().due <= now) {
      PendingReply p = std::move(pending.front());
      pending.pop_front();
      if (!send_all(client.get(), p.frame)) {
        drop_client("send failed");
        return;
      }
      spdlog::debug("APDU {} (0x{:02x}) -> SW {:04X} in {} us", ins_name(p.ins), p.ins, p.sw,
                    duration_cast<microseconds>(clock.now() - p.received).count());
    }
  }

  void accept_control() {
    Fd fd(::accept4(control_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd) return;
    set_send_timeout(fd.get());
    controls.push_back(ControlClient{std::move(fd), {}});
  }

  // Returns false when the control client is gone.
  bool read_control(ControlClient& c) {
    char buf[1024];
    ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
    if (n <= 0) return n < 0 && errno == EINTR;
    c.buffer.append(buf, static_cast<std::size_t>(n));
    for (std::size_t nl; (nl = c.buffer.find('\n')) != std::string::npos;) {
      std::string line = c.buffer.substr(0, nl);
      c.buffer.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::string reply = controller.execute(line);
      spdlog::info("control: {} -> {}", line, reply);
      // Take effect before answering: once a client reads "OK", the fault is in place.
      apply_connectivity();
      notify_nvram();
      reply += '\n';
      if (!send_all(c.fd.get(), ByteView(reinterpret_cast<const std::uint8_t*>(reply.data()), reply.size())))
        return false;
    }
    return c.buffer.size() <= kMaxControlLine;
  }

  int poll_timeout_ms() const {
    if (!client || pending.empty()) return -1;
    auto wait = pending.front().due - clock.now();
    if (wait <= Clock::Duration::zero()) return 0;
    return static_cast<int>(duration_cast<milliseconds>(wait).count()) + 1;
  }

  void run() {
    while (!stopping.load()) {
      apply_connectivity();
      std::vector<pollfd> fds;
      fds.push_back({wake_read.get(), POLLIN, 0});
      const std::size_t listener_ix = fds.size();
      fds.push_back({apdu_listener ? apdu_listener.get() : -1, POLLIN, 0});
      const std::size_t client_ix = fds.size();
      fds.push_back({client ? client.get() : -1, POLLIN, 0});
      const std::size_t control_ix = fds.size();
      fds.push_back({control_listener ? control_listener.get() : -1, POLLIN, 0});
      const std::size_t controls_ix = fds.size();
      for (const auto& c : controls) fds.push_back({c.fd.get(), POLLIN, 0});

      int rc = ::poll(fds.data(), fds.size(), poll_timeout_ms());
      if (rc < 0 && errno != EINTR) {
        spdlog::error("poll: {}", std::strerror(errno));
        return;
      }
      if (rc > 0) {
        if (fds[0].revents) {
          char b[16];
          while (::read(wake_read.get(), b, sizeof b) > 0) {
          }
        }
        // Control first: a fault set in the same round applies to the APDUs read below.
        for (std::size_t i = controls.size(); i-- > 0;) {
          if (fds[controls_ix + i].revents && !read_control(controls[i])) {
            controls.erase(controls.begin() + static_cast<std::ptrdiff_t>(i));
          }
        }
        if (fds[control_ix].revents & POLLIN) accept_control();
        if (client && fds[client_ix].fd == client.get() && fds[client_ix].revents) read_client();
        if (apdu_listener && fds[listener_ix].fd == apdu_listener.get() && (fds[listener_ix].revents & POLLIN))
          accept_client();
      }
      send_due();
    }
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;

Result<std::unique_ptr<Server>, Error> Server::create(BakingAppModel& model, Controller& controller,
                                                      const ServerOptions& options, const Clock& clock) {
  auto impl = std::make_unique<Impl>(model, controller, clock, options);
  auto apdu = listen_tcp(options.listen_address, options.apdu_port);
  if (!apdu) return fail(apdu.error());
  impl->apdu_port = local_port(apdu->get());
  impl->apdu_listener = std::move(*apdu);
  if (options.control_enabled) {
    auto ctl = listen_tcp(options.listen_address, options.control_port);
    if (!ctl) return fail(ctl.error());
    impl->control_port = local_port(ctl->get());
    impl->control_listener = std::move(*ctl);
  }
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return fail(Error{std::string("pipe: ") + std::strerror(errno)});
  impl->wake_read = Fd(p[0]);
  impl->wake_write = Fd(p[1]);
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::uint16_t Server::apdu_port() const { return impl_->apdu_port; }
std::uint16_t Server::control_port() const { return impl_->control_port; }
void Server::on_nvram_change(std::function<void(const AppState&)> cb) { impl_->nvram_callback = std::move(cb); }
void Server::run() { impl_->run(); }

void Server::stop() {
  impl_->stopping.store(true);
  const char b = 'x';
  [[maybe_unused]] ssize_t n = ::write(impl_->wake_write.get(), &b, 1);
}

}  // namespace pisigner::ledger::emulator
