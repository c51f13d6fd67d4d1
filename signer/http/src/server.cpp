#include "pisigner/http/server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

#include "connections.hpp"

namespace pisigner::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

Result<Endpoint, Error> parse_endpoint(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail(Error{"listen address '" + text + "': expected [ipv6]:port"});
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return fail(Error{"listen address '" + text + "': expected host:port"});
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535) {
    return fail(Error{"listen address '" + text + "': expected host:port with a port 0-65535"});
  }
  return Endpoint{host, static_cast<std::uint16_t>(std::stoul(port))};
}

namespace {

constexpr std::size_t kHeaderLimit = 8 * 1024;
constexpr std::size_t kFirstRead = 4 * 1024;
// Saturated with no idle connection: how often to look again for one to close.
constexpr std::chrono::milliseconds kRoomRecheck{50};
constexpr std::chrono::seconds kAcceptLogPeriod{10};

using detail::IdleList;

// The open-connection count of one server. Sessions update it once per connection, never per request.
struct Connections {
  int cap = 0;
  std::atomic<int> open{0};
  std::atomic<bool> paused{false};  // the acceptors wait for a connection to close
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> accept_errors{0};
  std::atomic<std::uint64_t> evicted{0};
  std::atomic<std::uint64_t> handler_errors{0};
  asio::io_context* main = nullptr;  // where the acceptors run
  std::function<void()> resume;      // re-arms the acceptors; runs on main

  bool full() const { return open.load(std::memory_order_acquire) >= cap; }
  void closed() {
    open.fetch_sub(1, std::memory_order_acq_rel);
    if (paused.load(std::memory_order_relaxed) && paused.exchange(false) && !stopping.load()) asio::post(*main, resume);
  }
};

struct Shared {
  Handler& router;
  ServerOptions options;
  asio::thread_pool& pool;
  Connections conns;
};

// Reads no client bytes into the reply: the exception text stays in the log (escaped).
Response internal_error() { return Response{500, "text/plain", "Internal server error", {}}; }

// One log line per caught exception. Never throws.
void report_failure(Connections& conns, const char* where, const std::exception_ptr& e) noexcept {
  conns.handler_errors.fetch_add(1, std::memory_order_relaxed);
  try {
    spdlog::error("HTTP server: exception from the {}: {}", where, detail::describe(e));
  } catch (...) {
  }
}

class Session : public std::enable_shared_from_this<Session>, private IdleList::Node {
 public:
  Session(tcp::socket socket, Shared& shared, IdleList& idle) : stream_(std::move(socket)), shared_(shared), idle_(idle) {
    shared_.conns.open.fetch_add(1, std::memory_order_acq_rel);
  }
  ~Session() {
    idle_.leave(*this);
    shared_.conns.closed();
  }

  // The idle list belongs to the session's I/O thread: start there.
  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_next(); });
  }

 private:
  void evict() override { close(); }

  void read_next() {
    parser_.emplace();
    parser_->body_limit(shared_.options.body_limit);
    parser_->header_limit(kHeaderLimit);
    if (buffer_.size() > 0) return read_request();  // pipelined bytes: the next request has started
    // Idle keep-alive: wait for the first byte under idle_timeout, then the whole request under
    // header_timeout (a client trickling half a request line must not hold the slot for idle_timeout).
    stream_.expires_after(shared_.options.idle_timeout);
    idle_.enter(*this);  // under the connection cap, the longest-idle connection makes room
    stream_.async_read_some(buffer_.prepare(kFirstRead),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->idle_.leave(*self);
                              if (ec) return self->on_read_error(ec);
                              self->buffer_.commit(n);
                              self->read_request();
                            });
  }

  void read_request() {
    stream_.expires_after(shared_.options.header_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      return close();
    }
    Response r;
    if (ec == bhttp::error::body_limit) {
      r = Response{413, "text/plain", "Request body exceeds " + std::to_string(shared_.options.body_limit) + " bytes", {}};
    } else if (ec == bhttp::error::header_limit) {
      r = Response{431, "text/plain", "Request header fields too large", {}};
    } else {
      r = Response{400, "text/plain", "Malformed HTTP request: " + ec.message(), {}};
    }
    keep_alive_ = false;
    write(std::move(r), 11);
  }

  void on_read(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    head_ = msg.method() == bhttp::verb::head;
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    if (auto it = msg.find(bhttp::field::content_type); it != msg.end()) req.content_type = std::string(it->value());
    req.body = std::move(msg.body());
    stream_.expires_never();  // a sign may legitimately wait for a device; its own timeout bounds it

    bool blocking = false;
    try {
      blocking = shared_.router.blocking(req);
    } catch (...) {
      report_failure(shared_.conns, "request classifier", std::current_exception());
      return write(internal_error(), version_);
    }
    if (blocking) {
      // The session is idle until its reply is written (no operation pending on the stream), so the
      // pool thread may start the write itself: the reply leaves at once, without waking the I/O
      // thread first; the completion runs on the I/O thread as usual.
      asio::post(shared_.pool, [self = shared_from_this(), req = std::move(req)]() mutable {
        // An exception leaving a pool thread would end the process.
        try {
          self->write(self->respond(req), self->version_);
        } catch (...) {
          report_failure(self->shared_.conns, "reply", std::current_exception());
          self->close();
        }
      });
    } else {
      write(respond(req), version_);
    }
  }

  Response respond(const Request& req) {
    try {
      return shared_.router.handle(req);
    } catch (...) {
      report_failure(shared_.conns, "request handler", std::current_exception());
      return internal_error();
    }
  }

  using Message = bhttp::response<bhttp::string_body>;

  // nullptr when the response cannot be encoded (a status or header Beast refuses).
  std::shared_ptr<Message> encode(Response& r, unsigned version) {
    try {
      auto res = std::make_shared<Message>(static_cast<bhttp::status>(r.status), version);
      res->set(bhttp::field::server, "pisigner");
      if (!r.content_type.empty()) res->set(bhttp::field::content_type, r.content_type);
      for (const auto& [k, v] : r.headers) res->set(k, v);
      res->body() = std::move(r.body);
      res->prepare_payload();
      if (head_) res->body().clear();
      res->keep_alive(keep_alive_);
      return res;
    } catch (...) {
      report_failure(shared_.conns, "reply encoder", std::current_exception());
      return nullptr;
    }
  }

  void write(Response r, unsigned version) {
    auto res = encode(r, version);
    if (!res) {
      Response fallback = internal_error();
      res = encode(fallback, version);
    }
    if (!res) return close();
    stream_.expires_after(shared_.options.header_timeout);
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec || !self->keep_alive_) return self->close();
      self->read_next();
    });
    // The write has started (a short reply is usually on the wire already): a failure here is
    // only logged.
    if (r.after_send) {
      try {
        r.after_send();
      } catch (...) {
        report_failure(shared_.conns, "after-send hook", std::current_exception());
      }
    }
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Shared& shared_;
  IdleList& idle_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool keep_alive_ = true;
  bool head_ = false;
  unsigned version_ = 11;
};

struct Listener {
  explicit Listener(asio::io_context& io, std::string address) : acceptor(io), retry(io), address(std::move(address)) {}
  tcp::acceptor acceptor;
  asio::steady_timer retry;  // accept-error backoff
  std::string address;
  detail::Backoff backoff;
  detail::LogLimiter error_log{kAcceptLogPeriod};
  bool pending = false;  // an accept, a readiness wait or a backoff is outstanding
};

}  // namespace

// One io_context per I/O thread, connections dealt round-robin: a connection stays on one thread
// (no wake-ups between threads on its path), and a soft-key sign that waits for its fsync inline
// holds only the connections of its own thread, while the others keep signing (and share the store's
// group commit). Sessions may be destroyed with the io_contexts, so what they touch is declared first.
struct Server::Impl {
  Impl(Handler& router, ServerOptions opts)
      : pool(static_cast<std::size_t>(std::max(1, opts.sign_threads))), shared{router, std::move(opts), pool, {}} {
    const int n = std::max(1, shared.options.io_threads);
    for (int i = 0; i < n; ++i) idle.push_back(std::make_unique<IdleList>());
    for (int i = 0; i < n; ++i) ios.push_back(std::make_unique<asio::io_context>(1));
    shared.conns.cap = std::max(1, shared.options.max_connections);
    shared.conns.main = &main();
    shared.conns.resume = [this] { resume(); };
    room_timer = std::make_unique<asio::steady_timer>(main());
  }

  asio::io_context& main() { return *ios.front(); }  // acceptors and timers

  // Everything below runs on main() only.
  void arm(Listener& l) {
    if (l.pending || shared.conns.stopping || !l.acceptor.is_open()) return;
    l.pending = true;
    if (shared.conns.full()) {
      // Leave the client in the backlog; learn that one waits, then make room for it.
      l.acceptor.async_wait(tcp::acceptor::wait_read, [this, &l](beast::error_code ec) {
        l.pending = false;
        if (ec || !l.acceptor.is_open()) return;
        if (shared.conns.full()) return make_room();
        arm(l);
      });
      return;
    }
    const std::size_t slot = next_io++ % ios.size();
    l.acceptor.async_accept(*ios[slot], [this, &l, slot](beast::error_code ec, tcp::socket socket) {
      l.pending = false;
      if (ec == asio::error::operation_aborted || !l.acceptor.is_open()) return;
      if (ec) return back_off(l, ec);
      l.backoff.reset();
      try {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(socket), shared, *idle[slot])->start();
      } catch (...) {
        report_failure(shared.conns, "connection setup", std::current_exception());
      }
      arm(l);
    });
  }

  // EMFILE, ENFILE, ENOBUFS, ENOMEM...: retrying at once would spin while nothing frees up.
  void back_off(Listener& l, beast::error_code ec) {
    shared.conns.accept_errors.fetch_add(1, std::memory_order_relaxed);
    const auto delay = l.backoff.next();
    if (auto suppressed = l.error_log.allow(std::chrono::steady_clock::now())) {
      spdlog::warn("accept on {} failed: {}; retrying in {} ms ({} more failures since the last line)", l.address,
                   ec.message(), delay.count(), *suppressed);
    }
    l.pending = true;
    l.retry.expires_after(delay);
    l.retry.async_wait([this, &l](beast::error_code e) {
      l.pending = false;
      if (!e) arm(l);
    });
  }

  // At the cap with a client waiting: close the longest-idle connection; the acceptors resume when
  // a connection closes (Connections::closed), or look again shortly if none was idle.
  void make_room() {
    auto& c = shared.conns;
    c.paused.store(true);
    if (!c.full()) {  // a connection closed before we paused
      if (c.paused.exchange(false)) resume();
      return;
    }
    if (evicting) return;  // its outcome comes back here
    std::size_t best = idle.size();
    std::int64_t oldest = IdleList::kNone;
    for (std::size_t i = 0; i < idle.size(); ++i) {
      if (const auto t = idle[i]->oldest(); t < oldest) {
        oldest = t;
        best = i;
      }
    }
    if (best == idle.size()) {
      if (room_timer_pending) return;
      room_timer_pending = true;
      room_timer->expires_after(kRoomRecheck);
      room_timer->async_wait([this](beast::error_code ec) {
        room_timer_pending = false;
        if (!ec && shared.conns.paused.exchange(false)) resume();
      });
      return;
    }
    evicting = true;
    asio::post(*ios[best], [this, best] {
      const bool closed = idle[best]->evict_oldest();
      if (closed) shared.conns.evicted.fetch_add(1, std::memory_order_relaxed);
      asio::post(main(), [this, closed] {
        evicting = false;
        // Closed: its session's destructor resumes the acceptors. Else it got busy: look again.
        if (!closed && shared.conns.paused.exchange(false)) resume();
      });
    });
  }

  void resume() {
    if (shared.conns.stopping) return;
    for (auto& l : listeners) arm(*l);
  }

  std::vector<std::unique_ptr<IdleList>> idle;  // one per io_context
  asio::thread_pool pool;
  Shared shared;
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::size_t next_io = 0;
  std::vector<std::unique_ptr<Listener>> listeners;
  std::unique_ptr<asio::steady_timer> room_timer;
  bool room_timer_pending = false;
  bool evicting = false;
  std::vector<std::unique_ptr<asio::steady_timer>> timers;
  std::vector<std::unique_ptr<std::function<void(beast::error_code)>>> ticks;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  bool stopped = false;
};

Server::Server(Handler& handler, ServerOptions options) : impl_(std::make_unique<Impl>(handler, std::move(options))) {}

Server::~Server() { stop(); }

Result<void, Error> Server::start() {
  for (const auto& text : impl_->shared.options.listen) {
    auto ep = parse_endpoint(text);
    if (!ep) return fail(ep.error());
    beast::error_code ec;
    tcp::resolver resolver(impl_->main());
    auto results = resolver.resolve(ep->host, std::to_string(ep->port), tcp::resolver::passive, ec);
    if (ec || results.empty()) return fail(Error{"listen address '" + text + "': cannot resolve host: " + ec.message()});
    auto listener = std::make_unique<Listener>(impl_->main(), text);
    auto& acceptor = listener->acceptor;
    const tcp::endpoint endpoint = results.begin()->endpoint();
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail(Error{"cannot listen on " + text + ": " + ec.message()});
    impl_->listeners.push_back(std::move(listener));
  }
  for (auto& l : impl_->listeners) impl_->arm(*l);
  for (auto& io : impl_->ios) {
    impl_->work.push_back(asio::make_work_guard(*io));
    impl_->threads.emplace_back([io = io.get(), &conns = impl_->shared.conns] {
      detail::run_io(*io, [&conns](const std::exception_ptr& e) { report_failure(conns, "I/O loop", e); });
    });
  }
  return {};
}

std::vector<std::uint16_t> Server::ports() const {
  std::vector<std::uint16_t> out;
  for (const auto& l : impl_->listeners) {
    beast::error_code ec;
    auto ep = l->acceptor.local_endpoint(ec);
    out.push_back(ec ? 0 : ep.port());
  }
  return out;
}

void Server::every(std::chrono::milliseconds period, std::function<void()> fn) {
  auto timer = std::make_unique<asio::steady_timer>(impl_->main());
  auto tick = std::make_unique<std::function<void(beast::error_code)>>();
  auto* t = timer.get();
  auto* self = tick.get();
  // Both live in Impl until the server is destroyed, so the raw pointers stay valid.
  *tick = [t, self, period, fn = std::move(fn), &conns = impl_->shared.conns](beast::error_code ec) {
    if (ec) return;
    try {
      fn();
    } catch (...) {
      report_failure(conns, "periodic task", std::current_exception());
    }
    t->expires_after(period);
    t->async_wait(*self);
  };
  impl_->timers.push_back(std::move(timer));
  impl_->ticks.push_back(std::move(tick));
  t->expires_after(period);
  t->async_wait(*self);
}

ServerStats Server::stats() const {
  const auto& c = impl_->shared.conns;
  return ServerStats{c.open.load(), c.accept_errors.load(), c.evicted.load(), c.handler_errors.load()};
}

void Server::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->shared.conns.stopping = true;
  asio::post(impl_->main(), [this] {
    for (auto& l : impl_->listeners) {
      beast::error_code ec;
      l->acceptor.close(ec);
      l->retry.cancel();
    }
    impl_->room_timer->cancel();
    for (auto& t : impl_->timers) t->cancel();
  });
  impl_->pool.join();  // let in-flight signatures finish and post their replies
  impl_->work.clear();
  for (auto& io : impl_->ios) io->stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

}  // namespace pisigner::http
