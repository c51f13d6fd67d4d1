#include "pisigner/http/server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

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

class Session : public std::enable_shared_from_this<Session>, private IdleList::Node {
 public:
  Session(tcp::socket socket, Shared& shared, IdleList& idle) : stream_(std::move(socket)), shared_(shared), idle_(idle) {
    shared_.conns.opened();
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

}  // namespace

// One io_context per I/O thread, connections dealt round-robin: a connection stays on one thread
// (no wake-ups between threads on its path), and a soft-key sign that waits for its fsync inline
// holds only the connections of its own thread, while the others keep signing (and share the store's
// group commit). Sessions may be destroyed with the io_contexts, so what they touch is declared first.
struct Server::Impl {
  Impl(Handler& router, ServerOptions opts)
      : pool(static_cast<std::size_t>(std::max(1, opts.sign_threads))), shared{router, std::move(opts), pool, {}} {
    shared.conns.cap = std::max(1, shared.options.max_connections);
    std::vector<asio::io_context*> io_list;
    std::vector<IdleList*> idle_list;
    for (int i = 0; i < std::max(1, shared.options.io_threads); ++i) {
      ios.push_back(std::make_unique<asio::io_context>(1));
      idle.push_back(std::make_unique<IdleList>());
      io_list.push_back(ios.back().get());
      idle_list.push_back(idle.back().get());
    }
    acceptor = std::make_unique<detail::Acceptor>(std::move(io_list), std::move(idle_list), shared.conns,
                                                  [this](tcp::socket socket, std::size_t slot) {
                                                    std::make_shared<Session>(std::move(socket), shared, *idle[slot])
                                                        ->start();
                                                  });
  }

  asio::io_context& main() { return *ios.front(); }  // acceptors and timers

  std::vector<std::unique_ptr<IdleList>> idle;  // one per io_context
  asio::thread_pool pool;
  Shared shared;
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::unique_ptr<detail::Acceptor> acceptor;  // on main()
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
  return ServerStats{c.open.load(), c.accept_errors.load(), c.evicted.load(), c.handler_errors.load()};
}

void Server::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->shared.conns.stopping = true;
  asio::post(impl_->main(), [this] {
    impl_->acceptor->close();
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
