// Signature curves. The numeric values are Tezos' key tags (tz1=0 ... tz4=3).
#pragma once

#include <cstdint>
#include <string_view>

namespace pisigner::crypto {

enum class Curve : std::uint8_t { Ed25519 = 0, Secp256k1 = 1, P256 = 2, Bls12_381 = 3 };

std::string_view curve_name(Curve c);  // "ed25519", "secp256k1", "p256", "bls12_381"

}  // namespace pisigner::crypto
