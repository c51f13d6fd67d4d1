// Keys of the virtual Ledger, derived from one seed the way the device derives
// them (SLIP-10 Ed25519, BIP32 secp256k1, SLIP-10 nist256p1), and replies in the
// device's byte formats. BIP32-Ed25519 and BLS12-381 are not modelled (0x6B00).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "pisigner/bytes.hpp"
#include "pisigner/crypto/hash.hpp"
#include "pisigner/result.hpp"

namespace pisigner::ledger::emulator {

// Failures carry the status word the device would answer.
struct KeyError {
  std::uint16_t sw;
};

// Immutable after construction; thread-safe.
class Keyring {
 public:
  // BIP39 seed (PBKDF2, empty passphrase) of `mnemonic`; the checksum is not checked,
  // like Speculos' --seed (the test seed "zebra" x24 has no valid checksum).
  static Keyring from_mnemonic(std::string_view mnemonic);
  // A raw 64-byte seed; fails on any other length.
  static Result<Keyring, Error> from_seed(ByteView seed);

  // True for the derivation types this model implements (Ed25519, secp256k1, P-256).
  static bool supports(std::uint8_t curve);

  // The public key as the device returns it after the length byte:
  // 0x02 || 32 bytes (Ed25519), 0x04 || X || Y (secp256k1, P-256).
  // Fails with 0x6B00 for unmodelled curves, 0x9001 when derivation fails
  // (e.g. a non-hardened Ed25519 component).
  Result<Bytes, KeyError> public_key(std::uint8_t curve, const std::vector<std::uint32_t>& path) const;

  // Signs a 32-byte hash like the app's sign(): 64 raw bytes for Ed25519; for ECDSA
  // the DER form (RFC 6979 nonce, low S) with bit 0 of the first byte set when R's y is odd.
  Result<Bytes, KeyError> sign_hash(std::uint8_t curve, const std::vector<std::uint32_t>& path,
                                    const crypto::Digest32& hash) const;

 private:
  explicit Keyring(const std::array<std::uint8_t, 64>& seed) : seed_(seed) {}
  std::array<std::uint8_t, 64> seed_;
};

// The Ledger test seed used by the app's own test suite. A TEST seed: never for real funds.
inline constexpr std::string_view kTestMnemonic =
    "zebra zebra zebra zebra zebra zebra zebra zebra zebra zebra zebra zebra "
    "zebra zebra zebra zebra zebra zebra zebra zebra zebra zebra zebra zebra";

}  // namespace pisigner::ledger::emulator
