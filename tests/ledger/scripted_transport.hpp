// A Transport that plays a recorded APDU transcript: each step checks the exact request
// bytes and returns the recorded reply.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <initializer_list>
#include <optional>
#include <string>

#include "pisigner/ledger/transport.hpp"

namespace pisigner::ledger::testing {

struct Step {
  std::string request_hex;  // golden request bytes
  std::string reply_hex;    // data without the status word
  std::uint16_t sw = 0x9000;
};

class ScriptedTransport final : public Transport {
 public:
  ScriptedTransport(std::initializer_list<Step> steps) : steps_(steps.begin(), steps.end()) {}
  ScriptedTransport(const ScriptedTransport&) = delete;
  ~ScriptedTransport() override { EXPECT_TRUE(steps_.empty()) << steps_.size() << " scripted APDUs not sent"; }

  Result<Reply, TransportError> exchange(const Apdu& apdu, std::chrono::milliseconds) override {
    if (steps_.empty()) {
      ADD_FAILURE() << "unexpected APDU " << to_hex(apdu.encode());
      return fail(TransportError{TransportErrc::Io, "script exhausted"});
    }
    Step s = steps_.front();
    steps_.pop_front();
    EXPECT_EQ(to_hex(apdu.encode()), s.request_hex);
    return Reply{*from_hex(s.reply_hex), s.sw};
  }
  // Split like a real device: send() checks the request (the device has it), receive() answers.
  Result<void, TransportError> send(const Apdu& apdu, std::chrono::milliseconds timeout) override {
    EXPECT_FALSE(sent_.has_value()) << "send() twice";
    auto r = exchange(apdu, timeout);
    if (!r) return fail(std::move(r).error());
    sent_ = std::move(*r);
    return {};
  }
  Result<Reply, TransportError> receive(std::chrono::milliseconds) override {
    if (!sent_) return fail(TransportError{TransportErrc::Protocol, "receive() without send()"});
    Reply r = std::move(*sent_);
    sent_.reset();
    return r;
  }
  std::string describe() const override { return "scripted"; }
  std::size_t remaining() const { return steps_.size(); }

 private:
  std::deque<Step> steps_;
  std::optional<Reply> sent_;
};

}  // namespace pisigner::ledger::testing
