// Where the acceptor deals new connections: round-robin over the I/O threads that serve no
// signer's connection, so a flood of new connections never queues in front of a baker's next
// request while another thread is free; over all threads when every one serves a signer.
#include "acceptor.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include <array>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace pisigner::http::detail {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class Dealing : public ::testing::Test {
 protected:
  static constexpr std::size_t kThreads = 3;

  Dealing() {
    conns_.cap = 1000;
    std::vector<asio::io_context*> ios;
    std::vector<IdleList*> idle, slow;
    std::vector<const std::atomic<int>*> signers;
    for (std::size_t i = 0; i < kThreads; ++i) {
      ios.push_back(&ios_[i]);
      idle.push_back(&idle_[i]);
      slow.push_back(&slow_[i]);
      signers.push_back(&signers_[i]);
    }
    acceptor_ = std::make_unique<Acceptor>(home_, ios, idle, slow, signers, conns_,
                                           [this](tcp::socket s, std::size_t slot) {
                                             std::lock_guard lock(mu_);
                                             slots_.push_back(slot);
                                             accepted_.push_back(std::move(s));
                                           });
    EXPECT_TRUE(acceptor_->listen("127.0.0.1:0"));
  }
  // The slot of a connection is chosen when its accept is armed, which start() does for the first.
  void start() {
    acceptor_->start();
    guard_.emplace(asio::make_work_guard(home_));
    thread_ = std::thread([this] { home_.run(); });
  }
  ~Dealing() override {
    if (!thread_.joinable()) return;
    asio::post(home_, [this] { acceptor_->close(); });
    guard_.reset();
    home_.stop();
    thread_.join();
  }

  // Opens n client connections and returns the slots they were dealt to, in order.
  std::vector<std::size_t> connect(int n) {
    const auto port = acceptor_->ports().at(0);
    const std::size_t before = dealt();
    for (int i = 0; i < n; ++i) {
      clients_.emplace_back(client_io_);
      clients_.back().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
      // One at a time: the order of the slots is the order of the accepts.
      const auto until = std::chrono::steady_clock::now() + 5s;
      while (dealt() < before + static_cast<std::size_t>(i) + 1 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(1ms);
      }
    }
    std::lock_guard lock(mu_);
    return {slots_.begin() + static_cast<std::ptrdiff_t>(before), slots_.end()};
  }
  std::size_t dealt() {
    std::lock_guard lock(mu_);
    return slots_.size();
  }

  std::array<asio::io_context, kThreads> ios_;
  asio::io_context home_;  // destroyed before ios_: an armed accept's handler holds a socket of one
  std::array<IdleList, kThreads> idle_, slow_;
  std::array<std::atomic<int>, kThreads> signers_{};
  Connections conns_;
  std::unique_ptr<Acceptor> acceptor_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::size_t> slots_;
  std::vector<tcp::socket> accepted_;
  asio::io_context client_io_;  // outlives clients_
  std::vector<tcp::socket> clients_;
};

TEST_F(Dealing, RoundRobinWhenNoThreadServesASigner) {
  start();
  EXPECT_EQ(connect(6), (std::vector<std::size_t>{0, 1, 2, 0, 1, 2}));
}

TEST_F(Dealing, NewConnectionsAvoidTheThreadsThatServeSigners) {
  signers_[0] = 1;
  signers_[2] = 2;
  start();
  EXPECT_EQ(connect(4), (std::vector<std::size_t>{1, 1, 1, 1}));
  signers_[2] = 0;  // that signer's connections closed
  auto slots = connect(4);
  for (auto s : slots) EXPECT_NE(s, 0u);
  EXPECT_NE(std::count(slots.begin(), slots.end(), 2u), 0) << "a thread freed of signers gets new connections again";
}

TEST_F(Dealing, EveryThreadServesASignerSoAllShare) {
  for (auto& s : signers_) s = 1;
  start();
  auto slots = connect(6);
  for (std::size_t t = 0; t < kThreads; ++t) EXPECT_EQ(std::count(slots.begin(), slots.end(), t), 2) << t;
}

}  // namespace
}  // namespace pisigner::http::detail
