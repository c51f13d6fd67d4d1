#include "acceptor.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "pisigner/http/server.hpp"

namespace pisigner::http::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {
// Saturated with no idle connection: how often to look again for one to close.
constexpr std::chrono::milliseconds kRoomRecheck{50};
constexpr std::chrono::seconds kAcceptLogPeriod{10};
// Slow senders closed per round of making room: a slowloris beyond the cap costs one round trip
// between the listener's thread and a connection thread per eight clients, not per client.
constexpr int kSlowEvictions = 8;
}  // namespace

struct Acceptor::Listener {
  Listener(asio::io_context& io, std::string address) : acceptor(io), retry(io), address(std::move(address)) {}
  tcp::acceptor acceptor;
  asio::steady_timer retry;  // accept-error backoff
  std::string address;
  Backoff backoff;
  LogLimiter error_log{kAcceptLogPeriod};
  bool pending = false;  // an accept, a readiness wait or a backoff is outstanding
};

Acceptor::Acceptor(asio::io_context& home, std::vector<asio::io_context*> ios, std::vector<IdleList*> idle,
                   std::vector<IdleList*> slow, std::vector<const std::atomic<int>*> signers, Connections& conns,
                   Open open)
    : home_(home),
      ios_(std::move(ios)),
      idle_(std::move(idle)),
      slow_(std::move(slow)),
      signers_(std::move(signers)),
      conns_(conns),
      open_(std::move(open)),
      room_timer_(home_),
      room_budget_(conns.room_per_second, std::chrono::steady_clock::now()),
      room_log_(kAcceptLogPeriod) {
  conns_.wake = [this] { asio::post(home_, [this] { resume(); }); };
}

Acceptor::~Acceptor() = default;

Result<void, Error> Acceptor::listen(const std::string& text) {
  auto ep = parse_endpoint(text);
  if (!ep) return fail(ep.error());
  error_code ec;
  tcp::resolver resolver(home_);
  auto results = resolver.resolve(ep->host, std::to_string(ep->port), tcp::resolver::passive, ec);
  if (ec || results.empty()) return fail(Error{"listen address '" + text + "': cannot resolve host: " + ec.message()});
  auto listener = std::make_unique<Listener>(home_, text);
  auto& acceptor = listener->acceptor;
  const tcp::endpoint endpoint = results.begin()->endpoint();
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(Error{"cannot listen on " + text + ": " + ec.message()});
  listeners_.push_back(std::move(listener));
  return {};
}

std::vector<std::uint16_t> Acceptor::ports() const {
  std::vector<std::uint16_t> out;
  for (const auto& l : listeners_) {
    error_code ec;
    auto ep = l->acceptor.local_endpoint(ec);
    out.push_back(ec ? 0 : ep.port());
  }
  return out;
}

void Acceptor::start() {
  for (auto& l : listeners_) arm(*l);
}

void Acceptor::close() {
  for (auto& l : listeners_) {
    error_code ec;
    l->acceptor.close(ec);
    l->retry.cancel();
  }
  room_timer_.cancel();
}

void Acceptor::arm(Listener& l) {
  if (l.pending || conns_.stopping || !l.acceptor.is_open()) return;
  l.pending = true;
  if (conns_.full()) {
    // Leave the client in the backlog; learn that one waits, then make room for it.
    l.acceptor.async_wait(tcp::acceptor::wait_read, [this, &l](error_code ec) {
      l.pending = false;
      if (ec || !l.acceptor.is_open()) return;
      if (conns_.full()) return make_room();
      arm(l);
    });
    return;
  }
  const std::size_t slot = next_slot();
  l.acceptor.async_accept(*ios_[slot], [this, &l, slot](error_code ec, tcp::socket socket) {
    l.pending = false;
    if (ec == asio::error::operation_aborted || !l.acceptor.is_open()) return;
    if (ec) return back_off(l, ec);
    l.backoff.reset();
    try {
      socket.set_option(tcp::no_delay(true), ec);
      open_(std::move(socket), slot);
    } catch (...) {
      report_failure(conns_, "connection setup", std::current_exception());
    }
    arm(l);
  });
}

std::size_t Acceptor::next_slot() {
  for (std::size_t tries = 0; tries < ios_.size(); ++tries) {
    const std::size_t slot = next_io_++ % ios_.size();
    if (signers_[slot]->load(std::memory_order_relaxed) == 0) return slot;
  }
  return next_io_++ % ios_.size();
}

// EMFILE, ENFILE, ENOBUFS, ENOMEM...: the listening socket stays readable, so retrying at once
// would spin while nothing frees up.
void Acceptor::back_off(Listener& l, error_code ec) {
  conns_.accept_errors.fetch_add(1, std::memory_order_relaxed);
  const auto delay = l.backoff.next();
  if (auto suppressed = l.error_log.allow(std::chrono::steady_clock::now())) {
    spdlog::warn("accept on {} failed: {}; retrying in {} ms ({} more failures since the last line)", l.address,
                 ec.message(), delay.count(), *suppressed);
  }
  l.pending = true;
  l.retry.expires_after(delay);
  l.retry.async_wait([this, &l](error_code e) {
    l.pending = false;
    if (!e) arm(l);
  });
}

// At the cap with a client waiting: close the connection that has been receiving a request for
// longest, else the longest-idle one; the acceptors resume when a connection closes
// (Connections::closed), or look again shortly if none could be closed. Slow senders go first: a
// request arrives in one read from a client that means it, and a slowloris would otherwise keep
// every slot (none of its connections is idle) while a baker's keep-alive connection, idle between
// two signatures, was the one closed for the next of them. Closures are paced by room_budget_: a
// slowloris holding more connections than the cap, each reopened as soon as it is dropped, would
// otherwise have the server accept and close as fast as it can, and on a Pi's few cores that
// kernel work runs in the signers' time. The cost is that a new client then waits behind the
// attacker's connections already in the backlog, at room_per_second.
void Acceptor::make_room() {
  conns_.paused.store(true);
  if (!conns_.full()) {  // a connection closed before we paused
    if (conns_.paused.exchange(false)) resume();
    return;
  }
  if (evicting_) return;  // its outcome comes back here
  auto oldest_of = [](const std::vector<IdleList*>& lists) {
    std::size_t best = lists.size();
    std::int64_t oldest = IdleList::kNone;
    for (std::size_t i = 0; i < lists.size(); ++i) {
      if (const auto t = lists[i]->oldest(); t < oldest) {
        oldest = t;
        best = i;
      }
    }
    return best;
  };
  std::vector<IdleList*>* lists = &slow_;
  std::size_t best = oldest_of(slow_);
  if (best == slow_.size()) {
    lists = &idle_;
    best = oldest_of(idle_);
  }
  if (best == lists->size()) return look_again_in(kRoomRecheck);
  const auto now = std::chrono::steady_clock::now();
  const int batch = room_budget_.take(lists == &slow_ ? kSlowEvictions : 1, now);
  if (batch == 0) {
    conns_.room_deferrals.fetch_add(1, std::memory_order_relaxed);
    if (auto suppressed = room_log_.allow(now)) {
      spdlog::warn("connection cap ({}) reached with clients waiting: closing at most {} connections a second to "
                   "make room, the rest wait in the kernel backlog ({} more such waits since the last line)",
                   conns_.cap, conns_.room_per_second, *suppressed);
    }
    return look_again_in(room_budget_.until_next(now));
  }
  evicting_ = true;
  asio::post(*ios_[best], [this, best, batch, list = (*lists)[best]] {
    int n = 0;
    while (n < batch && list->evict_oldest()) ++n;
    if (n > 0) conns_.evicted.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
    asio::post(home_, [this, batch, n] {
      evicting_ = false;
      room_budget_.give_back(batch - n);
      // Closed: its session's destructor resumes the acceptors. Else it got busy: look again.
      if (n == 0 && conns_.paused.exchange(false)) resume();
    });
  });
}

// Resumes the acceptors after `delay`, which look for room again if the cap is still reached.
void Acceptor::look_again_in(std::chrono::steady_clock::duration delay) {
  if (room_timer_pending_) return;
  room_timer_pending_ = true;
  room_timer_.expires_after(delay);
  room_timer_.async_wait([this](error_code ec) {
    room_timer_pending_ = false;
    if (!ec && conns_.paused.exchange(false)) resume();
  });
}

void Acceptor::resume() {
  if (conns_.stopping) return;
  for (auto& l : listeners_) arm(*l);
}

}  // namespace pisigner::http::detail
