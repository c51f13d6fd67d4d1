// What the etcd protocol tests share: a request at a slot and a signature to store with it.
#pragma once

#include <cstdint>
#include <string>

#include "../test_util.hpp"
#include "pisigner/hwm/rules.hpp"
#include "pisigner/tezos/keys.hpp"

namespace pisigner::hwm::etcd::testing {

// A deterministic key's request at (level, round) for the payload numbered `payload`.
inline Request req(std::int32_t level, std::int32_t round, std::uint32_t payload) {
  return Request{level, round, hwm::testing::digest(payload), true};
}

inline std::string test_signature() { return tezos::Signature{crypto::Curve::Ed25519, Bytes(64, 0x5a)}.to_b58(); }

}  // namespace pisigner::hwm::etcd::testing
