#include "pisigner/crypto/curve.hpp"

namespace pisigner::crypto {

std::string_view curve_name(Curve c) {
  switch (c) {
    case Curve::Ed25519: return "ed25519";
    case Curve::Secp256k1: return "secp256k1";
    case Curve::P256: return "p256";
    case Curve::Bls12_381: return "bls12_381";
  }
  return "unknown";
}

}  // namespace pisigner::crypto
