#pragma once
#include <string>

namespace pisigner::tezos {
// A decoding error. `message` is safe to show to a client (octez-like wording).
struct TezosError {
  std::string message;
};
}  // namespace pisigner::tezos
