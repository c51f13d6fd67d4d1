#include "fault_proxy.hpp"

#include <array>
#include <atomic>
#include <future>
#include <iostream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <utility>  // boost 1.74 asio/awaitable.hpp uses std::exchange without including it
#include <boost/asio.hpp>

namespace pisigner::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Mode = FaultProxy::Mode;

namespace {

constexpr unsigned char kTlsHandshake = 22;
constexpr unsigned char kTlsApplicationData = 23;

// Finds the cut (see the header) in the client → member byte stream by walking TLS record headers
// (5 bytes: type, version, 16-bit length), which travel in clear.
class CutScanner {
 public:
  bool cut() const { return cut_; }
  void feed(const unsigned char* d, std::size_t n) {
    for (std::size_t i = 0; i < n && !cut_;) {
      if (first_) {
        first_ = false;
        if (d[i] != kTlsHandshake) cut_ = true;  // not TLS: the first byte is the request
        continue;
      }
      if (body_left_ > 0) {
        auto k = std::min(body_left_, n - i);
        body_left_ -= k;
        i += k;
        continue;
      }
      header_[have_++] = d[i++];
      if (have_ == header_.size()) {
        cut_ = header_[0] == kTlsApplicationData;
        body_left_ = static_cast<std::size_t>(header_[3]) << 8 | header_[4];
        have_ = 0;
      }
    }
  }

 private:
  bool first_ = true;
  bool cut_ = false;
  std::array<unsigned char, 5> header_{};
  std::size_t have_ = 0;
  std::size_t body_left_ = 0;
};

}  // namespace

struct FaultProxy::Impl {
  struct Conn;

  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::uint16_t port = 0;
  const std::uint16_t target;
  std::atomic<Mode> mode;
  std::atomic<std::uint64_t> accepted{0}, to_member{0}, to_client{0}, dropped{0};
  // io thread only. Strong references: a paused connection has no pending handler to keep it.
  std::vector<std::shared_ptr<Conn>> conns;
  std::thread thread;

  Impl(std::uint16_t target_port, Mode m) : target(target_port), mode(m) {}

  bool listen() {
    boost::system::error_code ec;
    acceptor.open(tcp::v4(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(tcp::endpoint(asio::ip::address_v4::loopback(), port), ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      std::cerr << "FaultProxy: cannot listen on 127.0.0.1:" << port << ": " << ec.message() << "\n";
      acceptor.close(ec);
      return false;
    }
    if (port == 0) port = acceptor.local_endpoint().port();  // later listens reuse it
    accept();
    return true;
  }

  void accept();
  void apply_mode();  // io thread
  void close_all();   // io thread

  // Runs `f` on the proxy thread and waits for it.
  template <typename F>
  void on_io_thread(F f) {
    std::promise<void> done;
    asio::post(io, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }
};

// One client connection and its member connection. Touched only on the io thread.
struct FaultProxy::Impl::Conn : std::enable_shared_from_this<Conn> {
  struct Pipe {
    std::array<unsigned char, 16384> buf{};
    std::size_t n = 0;
    bool paused = false;  // holds buf[0, n) until the mode lets it go
  };

  Impl& p;
  tcp::socket client;
  tcp::socket member;
  asio::steady_timer hold;
  Pipe up, down;  // client → member, member → client
  CutScanner scanner;
  bool connect_started = false, connected = false;
  bool dropping = false;  // DropReplies took this connection: member bytes never reach the client again
  bool client_closed = false, member_closed = false;

  Conn(Impl& proxy, tcp::socket s) : p(proxy), client(std::move(s)), member(proxy.io), hold(proxy.io) {}

  void start() {
    read_up();
    if (p.mode != Mode::Blackhole) connect();
  }

  void connect() {
    connect_started = true;
    member.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), p.target),
                         [self = shared_from_this()](boost::system::error_code ec) {
                           if (ec) return self->close_both(false);
                           self->connected = true;
                           self->read_down();
                           if (self->up.paused) self->process_up();
                         });
  }

  void resume() {
    if (client_closed && member_closed) return;
    if (!connect_started && p.mode != Mode::Blackhole) connect();
    if (up.paused) process_up();
    if (down.paused) process_down();
  }

  void read_up() {
    client.async_read_some(asio::buffer(up.buf), [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
      if (ec) return self->on_client_end();
      self->up.n = n;
      self->process_up();
    });
  }

  void process_up() {
    if (member_closed || p.mode == Mode::Blackhole || !connected) {
      up.paused = !member_closed;
      return;
    }
    up.paused = false;
    scanner.feed(up.buf.data(), up.n);
    asio::async_write(member, asio::buffer(up.buf.data(), up.n),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                        if (ec) return self->close_both(false);
                        self->p.to_member += n;
                        self->read_up();
                      });
  }

  void read_down() {
    member.async_read_some(asio::buffer(down.buf), [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
      if (ec) return self->close_both(false);
      self->down.n = n;
      self->process_down();
    });
  }

  void process_down() {
    if (p.mode == Mode::Blackhole && !dropping && !client_closed) {
      down.paused = true;
      return;
    }
    down.paused = false;
    if (!dropping && !client_closed && p.mode == Mode::DropReplies && scanner.cut()) {
      dropping = true;
      hold.expires_after(kDropRepliesHold);
      hold.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->close_client();
      });
    }
    if (dropping || client_closed) {
      p.dropped += down.n;
      return read_down();
    }
    asio::async_write(client, asio::buffer(down.buf.data(), down.n),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                        if (ec) return self->on_client_end();
                        self->p.to_client += n;
                        self->read_down();
                      });
  }

  // A client that goes away after its cut under DropReplies must not take the member connection
  // with it: the member would cancel the request it is still working on.
  void on_client_end() {
    if (client_closed) return;
    close_client();
    if (!(dropping || (scanner.cut() && p.mode == Mode::DropReplies))) close_both(false);
  }

  void close_client() {
    boost::system::error_code ec;
    client_closed = true;
    hold.cancel();
    client.shutdown(tcp::socket::shutdown_both, ec);
    client.close(ec);
  }

  // `reset`: RST instead of FIN on both sides (SO_LINGER 0), as when the member process dies.
  void close_both(bool reset) {
    boost::system::error_code ec;
    for (auto* s : {&client, &member}) {
      if (reset && s->is_open()) s->set_option(asio::socket_base::linger(true, 0), ec);
      s->close(ec);
    }
    hold.cancel();
    client_closed = member_closed = true;
    up.paused = down.paused = false;
  }
};

void FaultProxy::Impl::accept() {
  acceptor.async_accept([this](boost::system::error_code ec, tcp::socket s) {
    if (ec) {
      if (acceptor.is_open()) accept();
      return;
    }
    ++accepted;
    std::erase_if(conns, [](const auto& c) { return !c->client.is_open() && !c->member.is_open(); });
    auto c = std::make_shared<Conn>(*this, std::move(s));
    conns.push_back(c);
    c->start();
    accept();
  });
}

void FaultProxy::Impl::apply_mode() {
  if (mode == Mode::Refuse) {
    boost::system::error_code ec;
    acceptor.close(ec);
    for (auto& c : conns) c->close_both(true);
    conns.clear();
    return;
  }
  if (!acceptor.is_open()) listen();
  for (auto& c : conns) c->resume();
}

void FaultProxy::Impl::close_all() {
  boost::system::error_code ec;
  acceptor.close(ec);
  for (auto& c : conns) c->close_both(false);
  conns.clear();
}

FaultProxy::FaultProxy(std::uint16_t target_port, Mode mode) : impl_(std::make_unique<Impl>(target_port, mode)) {
  if (mode != Mode::Refuse && !impl_->listen()) throw std::runtime_error("FaultProxy: cannot listen on 127.0.0.1");
  if (mode == Mode::Refuse) {
    // Reserve a port now so that port() is valid and leaving Refuse listens there.
    if (!impl_->listen()) throw std::runtime_error("FaultProxy: cannot listen on 127.0.0.1");
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
  }
  impl_->thread = std::thread([impl = impl_.get()] {
    auto guard = asio::make_work_guard(impl->io);
    for (;;) {
      try {
        impl->io.run();
        return;
      } catch (const std::exception& e) {
        std::cerr << "FaultProxy: " << e.what() << "\n";
      }
    }
  });
}

FaultProxy::~FaultProxy() {
  impl_->on_io_thread([this] { impl_->close_all(); });
  impl_->io.stop();
  impl_->thread.join();
}

std::uint16_t FaultProxy::port() const { return impl_->port; }

void FaultProxy::set_mode(Mode mode) {
  impl_->mode = mode;
  impl_->on_io_thread([this] { impl_->apply_mode(); });
}

FaultProxy::Mode FaultProxy::mode() const { return impl_->mode; }
std::uint64_t FaultProxy::connections_accepted() const { return impl_->accepted; }
std::uint64_t FaultProxy::bytes_to_member() const { return impl_->to_member; }
std::uint64_t FaultProxy::bytes_to_client() const { return impl_->to_client; }
std::uint64_t FaultProxy::bytes_dropped() const { return impl_->dropped; }

}  // namespace pisigner::testing
