#include <algorithm>

#include "pisigner/crypto/signing.hpp"
#include "pisigner/ledger/baking_app.hpp"

namespace pisigner::ledger {
namespace {
DeviceError bad(std::string m) { return DeviceError{DeviceErrc::BadReply, "malformed reply from the Ledger: " + std::move(m), sw::kOk, {}}; }

bool is_ecdsa(DerivationType c) { return c == DerivationType::Secp256k1 || c == DerivationType::P256; }
crypto::Curve ecdsa_curve(DerivationType c) {
  return c == DerivationType::Secp256k1 ? crypto::Curve::Secp256k1 : crypto::Curve::P256;
}

constexpr std::size_t kBlsPublicKey = 48;
constexpr std::size_t kBlsSignature = 96;
}  // namespace

Result<PublicKey, DeviceError> decode_public_key(DerivationType curve, ByteView reply) {
  if (reply.empty()) return fail(bad("empty public key reply"));
  const std::size_t len = reply[0];
  if (reply.size() != len + 1) return fail(bad("public key length byte " + std::to_string(len) + " vs " + std::to_string(reply.size() - 1) + " bytes"));
  ByteView key = reply.subspan(1);
  switch (curve) {
    case DerivationType::Ed25519:
    case DerivationType::Bip32Ed25519:
      if (len != 33 || key[0] != 0x02) return fail(bad("expected 0x02 || 32-byte Ed25519 key"));
      return PublicKey{curve, Bytes(key.begin() + 1, key.end())};
    case DerivationType::Secp256k1:
    case DerivationType::P256: {
      if (len != 65 || key[0] != 0x04) return fail(bad("expected an uncompressed 65-byte point"));
      auto c = crypto::compress_point(ecdsa_curve(curve), key);
      if (!c) return fail(bad("public key is not on the curve: " + c.error().message));
      return PublicKey{curve, std::move(*c)};
    }
    case DerivationType::Bls12_381:
      if (len != 97 || key[0] != 0x04) return fail(bad("expected 0x04 || 96-byte BLS key"));
      return PublicKey{curve, Bytes(key.begin() + 1, key.begin() + 1 + kBlsPublicKey)};
  }
  return fail(bad("unknown curve"));
}

Result<Signature, DeviceError> decode_signature(DerivationType curve, ByteView reply) {
  if (is_ecdsa(curve)) {
    if (reply.empty()) return fail(bad("empty signature"));
    // The app sets bit 0 of the DER SEQUENCE tag to the R-point parity (0x30 -> 0x31).
    Bytes der(reply.begin(), reply.end());
    der[0] &= static_cast<std::uint8_t>(~0x01u);
    auto compact = crypto::der_to_compact(ecdsa_curve(curve), der);
    if (!compact) return fail(bad("ECDSA signature: " + compact.error().message));
    return Signature{curve, Bytes(compact->begin(), compact->end())};
  }
  const std::size_t want = curve == DerivationType::Bls12_381 ? kBlsSignature : 64;
  if (reply.size() != want) return fail(bad("signature of " + std::to_string(reply.size()) + " bytes, expected " + std::to_string(want)));
  return Signature{curve, Bytes(reply.begin(), reply.end())};
}

}  // namespace pisigner::ledger
