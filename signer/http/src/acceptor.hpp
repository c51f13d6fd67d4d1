// The listening sockets of one server: the connection cap (make room by closing the connection
// that has been receiving a request for longest, else the longest-idle one, at most
// conns.room_per_second a second, or pause with clients left in the kernel backlog) and the backoff
// on accept errors.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "connections.hpp"
#include "pisigner/result.hpp"

namespace pisigner::http::detail {

class Acceptor {
 public:
  // Starts a session for an accepted socket, which belongs to ios[slot], idle[slot] and slow[slot].
  using Open = std::function<void(boost::asio::ip::tcp::socket, std::size_t slot)>;

  // The listening sockets and timers run on `home`, a context no connection uses, so a flood of
  // accepts never queues in front of a signer's request. Each accept, when armed, is dealt
  // round-robin to one of the ios whose signers[i] is 0 (connections that have had a signature), to
  // any when none is: new connections never queue in front of a baker's next request while another
  // thread is free.
  // idle[i]: keep-alive connections of ios[i] waiting for a request; slow[i]: those whose request
  // did not arrive in one read and is still coming. Sets conns.wake. All outlive the Acceptor.
  Acceptor(boost::asio::io_context& home, std::vector<boost::asio::io_context*> ios, std::vector<IdleList*> idle,
           std::vector<IdleList*> slow, std::vector<const std::atomic<int>*> signers, Connections& conns, Open open);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  // Binds one "host:port" before start(). Fails naming the address.
  Result<void, Error> listen(const std::string& address);
  std::vector<std::uint16_t> ports() const;
  void start();
  // Closes the listening sockets and cancels the timers; on `home`.
  void close();

 private:
  struct Listener;
  void arm(Listener& l);
  void back_off(Listener& l, boost::system::error_code ec);
  void make_room();
  void look_again_in(std::chrono::steady_clock::duration delay);
  void resume();
  std::size_t next_slot();

  boost::asio::io_context& home_;
  std::vector<boost::asio::io_context*> ios_;
  std::vector<IdleList*> idle_;
  std::vector<IdleList*> slow_;
  std::vector<const std::atomic<int>*> signers_;
  Connections& conns_;
  Open open_;
  // Touched on home_ only (after start()).
  std::vector<std::unique_ptr<Listener>> listeners_;
  boost::asio::steady_timer room_timer_;
  bool room_timer_pending_ = false;
  RoomBudget room_budget_;
  LogLimiter room_log_;
  bool evicting_ = false;
  std::size_t next_io_ = 0;
};

}  // namespace pisigner::http::detail
