// RFC 6979 §3.2 deterministic nonces with HMAC-SHA256, for 256-bit group orders (qlen = hlen = 256).
// Not installed, not part of the API.
#pragma once

#include <array>
#include <cstdint>

#include "internal.hpp"

namespace pisigner::crypto::detail {

// Yields the candidate nonces k for (secret x, digest h1) in RFC 6979 order: the first is the k of
// the RFC's vectors; next() after a rejected candidate (r = 0 or s = 0) continues as §3.2 step h.3.
// The state holds secret material and is wiped on destruction.
class Rfc6979 {
 public:
  // `x` is the private scalar (0 < x < n), `h1` the 32 digest bytes being signed.
  Rfc6979(Curve curve, const Scalar& x, const Digest32& h1);
  ~Rfc6979();
  Rfc6979(const Rfc6979&) = delete;
  Rfc6979& operator=(const Rfc6979&) = delete;

  // The next candidate with 0 < k < n.
  Scalar next();

 private:
  Curve curve_;
  std::array<std::uint8_t, 32> k_{};
  std::array<std::uint8_t, 32> v_{};
  bool first_ = true;
};

}  // namespace pisigner::crypto::detail
