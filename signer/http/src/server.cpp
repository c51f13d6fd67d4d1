#include "pisigner/http/server.hpp"

#include <sched.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <limits>
#include <thread>

#include "acceptor.hpp"
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

using detail::Connections;
using detail::IdleList;
using detail::report_failure;

struct Shared {
  Handler& router;
  ServerOptions options;
  asio::thread_pool& pool;
  Connections conns;
};

// Reads no client bytes into the reply: the exception text stays in the log (escaped).
Response internal_error() { return Response{500, "text/plain", "Internal server error", {}}; }

// A keep-alive connection. Its path is short when the client behaves: one read brings a whole
// request, it is parsed from the buffer at once, the reply leaves in one non-blocking send, and the
// next read starts. Deadlines are a field the path writes (no timer system call per request); one
// timer per connection checks it at the deadline or every min(header_timeout, idle_timeout).
class Session : public std::enable_shared_from_this<Session>, private IdleList::Node {
 public:
  Session(tcp::socket socket, Shared& shared, IdleList& idle, IdleList& slow, std::atomic<int>& signers)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        shared_(shared),
        idle_(idle),
        slow_(slow),
        signers_(signers) {
    shared_.conns.opened();
  }
  ~Session() {
    idle_.leave(*this);
    slow_.leave(slow_node_);
    if (signer_) signers_.fetch_sub(1, std::memory_order_relaxed);
    shared_.conns.closed();
  }

  // The idle list and the timer belong to the session's I/O thread: start there.
  void start() {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->socket_.non_blocking(true, ec);  // the reply's first send must never block a thread
      self->set_deadline(self->shared_.options.idle_timeout);
      self->arm(self->deadline_.load());
      self->read_next();
    });
  }

 private:
  using SteadyClock = std::chrono::steady_clock;
  static constexpr SteadyClock::rep kNever = std::numeric_limits<SteadyClock::rep>::max();

  void evict() override { close(); }

  // The session's place on the slow list (a session is on at most one of the two lists at a time).
  struct SlowNode final : IdleList::Node {
    explicit SlowNode(Session& s) : session(s) {}
    void evict() override { session.close(); }
    Session& session;
  };

  // I/O thread.
  void read_next() {
    parser_.emplace();
    parser_->body_limit(shared_.options.body_limit);
    parser_->header_limit(kHeaderLimit);
    parser_->eager(true);
    if (buffer_.size() > 0) {
      // Pipelined bytes: the next request has started. Continue from the queue, not deep in the
      // previous request's stack. And give the core away first: a client that writes sixty
      // requests at once would otherwise keep this thread running for all of them, and the
      // scheduler (EEVDF) lets a running thread finish its slice before a woken one, so a baker's
      // signature on another thread waited up to a slice behind the pipeline (its p99 rose 5-9x
      // with the store on tmpfs, 2x on disk; with the yield, 1.4-2.2x). A syscall per pipelined
      // request; nothing when no other thread is runnable.
      ::sched_yield();
      return asio::post(socket_.get_executor(), [self = shared_from_this()] { self->parse_buffered(); });
    }
    // Idle keep-alive: wait for the first byte under idle_timeout, then the whole request under
    // header_timeout (a client trickling half a request line must not hold the slot for idle_timeout).
    set_deadline(shared_.options.idle_timeout);
    idle_.enter(*this);  // under the connection cap, the longest-idle connection makes room
    socket_.async_read_some(buffer_.prepare(kFirstRead),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->idle_.leave(*self);
                              if (ec) return self->on_read_error(ec);
                              self->buffer_.commit(n);
                              self->parse_buffered();
                            });
  }

  // I/O thread. The common case: the whole request is in the buffer.
  void parse_buffered() {
    beast::error_code ec;
    while (!parser_->is_done() && buffer_.size() > 0) {
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) {
        ec = {};
        break;
      }
      if (ec) return on_read_error(ec);
      if (used == 0) break;
    }
    if (parser_->is_done()) return on_read({});
    read_request();
  }

  // I/O thread: the rest of a request that did not come in one piece.
  void read_request() {
    set_deadline(shared_.options.header_timeout);
    slow_.enter(slow_node_);  // under the connection cap, the slowest sender makes room first
    bhttp::async_read(socket_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read_error(beast::error_code ec) {
    slow_.leave(slow_node_);
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof || ec == asio::error::bad_descriptor) {
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
    slow_.leave(slow_node_);
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    head_ = msg.method() == bhttp::verb::head;
    post_ = msg.method() == bhttp::verb::post;
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    if (auto it = msg.find(bhttp::field::content_type); it != msg.end()) req.content_type = std::string(it->value());
    req.body = std::move(msg.body());
    deadline_.store(kNever);  // a sign may legitimately wait for a device; its own timeout bounds it

    bool blocking = false;
    try {
      blocking = shared_.router.blocking(req);
    } catch (...) {
      report_failure(shared_.conns, "request classifier", std::current_exception());
      return write(internal_error(), version_);
    }
    if (blocking) {
      // The session is idle until its reply is written (no operation pending on the socket), so the
      // pool thread may send the reply itself: it leaves at once, without waking the I/O thread.
      asio::post(shared_.pool, [self = shared_from_this(), req = std::move(req)]() mutable {
        // An exception leaving a pool thread would end the process.
        try {
          self->write(self->respond(req), self->version_);
        } catch (...) {
          report_failure(self->shared_.conns, "reply", std::current_exception());
          self->close_on_io_thread();
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

  // The response and its serializer, kept together until the last byte is sent.
  struct Outgoing {
    Outgoing(bhttp::status status, unsigned version) : res(status, version) {}
    bhttp::response<bhttp::string_body> res;
    std::optional<bhttp::serializer<false, bhttp::string_body>> serializer;
  };

  // nullptr when the response cannot be encoded (a status or header Beast refuses).
  std::shared_ptr<Outgoing> encode(Response& r, unsigned version) {
    try {
      auto out = std::make_shared<Outgoing>(static_cast<bhttp::status>(r.status), version);
      auto& res = out->res;
      res.set(bhttp::field::server, "pisigner");
      if (!r.content_type.empty()) res.set(bhttp::field::content_type, r.content_type);
      for (const auto& [k, v] : r.headers) res.set(k, v);
      res.body() = std::move(r.body);
      res.prepare_payload();
      if (head_) res.body().clear();
      res.keep_alive(keep_alive_);
      out->serializer.emplace(res);
      return out;
    } catch (...) {
      report_failure(shared_.conns, "reply encoder", std::current_exception());
      return nullptr;
    }
  }

  // Any thread (the I/O thread, or the pool thread that ran the request).
  void write(Response r, unsigned version) {
    if (post_ && r.status == 200 && !signer_) {
      signer_ = true;  // a signature: keep new connections off this thread (see Acceptor)
      signers_.fetch_add(1, std::memory_order_relaxed);
    }
    auto out = encode(r, version);
    if (!out) {
      Response fallback = internal_error();
      out = encode(fallback, version);
    }
    if (!out) return close_on_io_thread();
    // A short reply fits the socket's buffer: sent now, with no completion to wait for.
    beast::error_code ec;
    bhttp::write(socket_, *out->serializer, ec);
    // The reply is on the wire (or queued below): a failure here is only logged.
    if (r.after_send) {
      try {
        r.after_send();
      } catch (...) {
        report_failure(shared_.conns, "after-send hook", std::current_exception());
      }
    }
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      // The client is not reading: finish on the I/O thread, under header_timeout.
      return asio::dispatch(socket_.get_executor(), [self = shared_from_this(), out] {
        self->set_deadline(self->shared_.options.header_timeout);
        bhttp::async_write(self->socket_, *out->serializer, [self, out](beast::error_code ec2, std::size_t) {
          self->written(ec2);
        });
      });
    }
    written(ec);
  }

  // Any thread; what follows runs on the I/O thread (inline when already there).
  void written(beast::error_code ec) {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this(), ec] {
      if (ec || !self->keep_alive_) return self->close();
      self->read_next();
    });
  }

  void close_on_io_thread() {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
  }

  // I/O thread.
  void close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

  void set_deadline(std::chrono::seconds after) {
    deadline_.store((SteadyClock::now() + after).time_since_epoch().count());
  }

  // I/O thread. The timer holds the session weakly: a closed session is freed at once. It fires at
  // the deadline or after one check period, whichever comes first, so a deadline moved earlier
  // (idle -> header_timeout) is still met exactly without re-arming the timer on the path.
  void arm(SteadyClock::rep deadline) {
    const auto period = std::min(shared_.options.header_timeout, shared_.options.idle_timeout);
    const auto at = std::min(deadline, (SteadyClock::now() + period).time_since_epoch().count());
    timer_.expires_at(SteadyClock::time_point(SteadyClock::duration(at)));
    timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->on_timer();
    });
  }

  void on_timer() {
    const auto deadline = deadline_.load();
    if (deadline != kNever && SteadyClock::now().time_since_epoch().count() >= deadline) {
      // Timed out: the pending read or write fails with operation_aborted and closes the session.
      beast::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_both, ignored);
      socket_.cancel(ignored);
      return;
    }
    if (socket_.is_open()) arm(deadline);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;  // I/O thread only
  Shared& shared_;
  IdleList& idle_;
  IdleList& slow_;
  SlowNode slow_node_{*this};
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::atomic<SteadyClock::rep> deadline_{kNever};  // written by the request's thread, read by the timer
  std::atomic<int>& signers_;  // this thread's connections that have had a signature
  bool keep_alive_ = true;
  bool head_ = false;
  bool post_ = false;
  bool signer_ = false;  // counted in signers_; written by the request's thread, the session idle meanwhile
  unsigned version_ = 11;
};

}  // namespace

// One io_context per I/O thread, connections dealt round-robin: a connection stays on one thread
// (no wake-ups between threads on its path), and a soft-key sign that waits for its fsync inline
// holds only the connections of its own thread, while the others keep signing (and share the store's
// group commit). Sessions may be destroyed with the io_contexts, so what they touch is declared first.
struct Server::Impl {
  Impl(Handler& router, ServerOptions opts)
      : pool(static_cast<std::size_t>(std::max(1, opts.sign_threads))), shared{router, std::move(opts), pool, {}} {
    shared.conns.cap = std::max(1, shared.options.max_connections);
    shared.conns.room_per_second = std::max(1, shared.options.room_per_second);
    std::vector<asio::io_context*> io_list;
    std::vector<IdleList*> idle_list;
    std::vector<IdleList*> slow_list;
    std::vector<const std::atomic<int>*> signer_list;
    for (int i = 0; i < std::max(1, shared.options.io_threads); ++i) {
      ios.push_back(std::make_unique<asio::io_context>(1));
      idle.push_back(std::make_unique<IdleList>());
      slow.push_back(std::make_unique<IdleList>());
      signers.push_back(std::make_unique<std::atomic<int>>(0));
      io_list.push_back(ios.back().get());
      idle_list.push_back(idle.back().get());
      slow_list.push_back(slow.back().get());
      signer_list.push_back(signers.back().get());
    }
    acceptor = std::make_unique<detail::Acceptor>(
        *accept_io, std::move(io_list), std::move(idle_list), std::move(slow_list), std::move(signer_list),
        shared.conns, [this](tcp::socket socket, std::size_t slot) {
          std::make_shared<Session>(std::move(socket), shared, *idle[slot], *slow[slot], *signers[slot])->start();
        });
  }

  asio::io_context& main() { return *ios.front(); }  // periodic tasks: the watchdog proves a connection loop runs

  std::vector<std::unique_ptr<IdleList>> idle;  // one per io_context
  std::vector<std::unique_ptr<IdleList>> slow;  // one per io_context
  std::vector<std::unique_ptr<std::atomic<int>>> signers;  // one per io_context
  asio::thread_pool pool;
  Shared shared;
  std::vector<std::unique_ptr<asio::io_context>> ios;
  // The listeners' own context and thread: accepting, and making room at the cap, never wait for
  // a connection thread, nor a connection's request for an accept.
  std::unique_ptr<asio::io_context> accept_io = std::make_unique<asio::io_context>(1);
  std::unique_ptr<detail::Acceptor> acceptor;  // on *accept_io
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
    if (auto r = impl_->acceptor->listen(text); !r) return r;
  }
  impl_->acceptor->start();
  impl_->work.push_back(asio::make_work_guard(*impl_->accept_io));
  impl_->threads.emplace_back([io = impl_->accept_io.get(), &conns = impl_->shared.conns] {
    detail::run_io(*io, [&conns](const std::exception_ptr& e) { report_failure(conns, "accept loop", e); });
  });
  for (auto& io : impl_->ios) {
    impl_->work.push_back(asio::make_work_guard(*io));
    impl_->threads.emplace_back([io = io.get(), &conns = impl_->shared.conns] {
      detail::run_io(*io, [&conns](const std::exception_ptr& e) { report_failure(conns, "I/O loop", e); });
    });
  }
  return {};
}

std::vector<std::uint16_t> Server::ports() const { return impl_->acceptor->ports(); }

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
  return ServerStats{c.open.load(), c.accept_errors.load(), c.evicted.load(), c.room_deferrals.load(),
                     c.handler_errors.load()};
}

void Server::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->shared.conns.stopping = true;
  asio::post(*impl_->accept_io, [this] { impl_->acceptor->close(); });
  asio::post(impl_->main(), [this] {
    for (auto& t : impl_->timers) t->cancel();
  });
  impl_->pool.join();  // let in-flight signatures finish and post their replies
  impl_->work.clear();
  impl_->accept_io->stop();
  for (auto& io : impl_->ios) io->stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

}  // namespace pisigner::http
