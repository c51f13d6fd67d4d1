// Hash functions used across the project (BLAKE2b from libsodium, SHA-2/HMAC from libsodium/OpenSSL).
// All functions are pure and thread-safe.
#pragma once

#include <array>
#include <cstdint>

#include "pisigner/bytes.hpp"

namespace pisigner::crypto {

using Digest32 = std::array<std::uint8_t, 32>;

// Unkeyed BLAKE2b with `out_len` bytes of output (1..64; outside that range aborts).
Bytes blake2b(ByteView data, std::size_t out_len);
Digest32 blake2b_256(ByteView data);
std::array<std::uint8_t, 20> blake2b_160(ByteView data);

Digest32 sha256(ByteView data);
// SHA256(SHA256(data)), the base58check checksum hash.
Digest32 sha256d(ByteView data);
std::array<std::uint8_t, 64> hmac_sha512(ByteView key, ByteView data);
Digest32 hmac_sha256(ByteView key, ByteView data);

}  // namespace pisigner::crypto
