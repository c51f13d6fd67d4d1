// sign_digest is documented as thread-safe: one key shared by several signing threads
// (the daemon's HTTP workers) must produce only valid signatures.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "pisigner/crypto/signing.hpp"

using namespace pisigner;
using namespace pisigner::crypto;

TEST(RaceSigning, OneKeyManyThreads) {
  for (Curve c : {Curve::Ed25519, Curve::Secp256k1, Curve::P256}) {
    const SecretKey key = SecretKey::generate(c);
    std::atomic<int> bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) {
          Bytes msg{static_cast<std::uint8_t>(t), static_cast<std::uint8_t>(i)};
          Digest32 d = blake2b_256(msg);
          if (!verify_digest(c, key.public_key(), d, key.sign_digest(d))) ++bad;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(bad.load(), 0) << curve_name(c);
  }
}
