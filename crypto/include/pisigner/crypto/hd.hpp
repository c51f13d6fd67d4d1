// Hierarchical key derivation as a Ledger does it: BIP39 seed from a mnemonic,
// SLIP-10 for Ed25519 (hardened only) and P-256 ("Nist256p1 seed"), BIP32 for secp256k1 ("Bitcoin seed").
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pisigner/bytes.hpp"
#include "pisigner/crypto/curve.hpp"
#include "pisigner/crypto/signing.hpp"
#include "pisigner/result.hpp"

namespace pisigner::crypto {

constexpr std::uint32_t kHardened = 0x80000000u;

// "m/44'/1729'/0'/0'" -> {0x8000002C, 0x800006C1, 0x80000000, 0x80000000}. Accepts ' or h for hardened.
// Fails on empty components, numbers >= 2^31, more than 10 components, or a missing "m".
Result<std::vector<std::uint32_t>, CryptoError> parse_path(std::string_view path);
std::string format_path(const std::vector<std::uint32_t>& path);

// BIP39: PBKDF2-HMAC-SHA512(mnemonic, "mnemonic"+passphrase, 2048) -> 64 bytes.
// Words are used as given (NFKD of ASCII is identity); the checksum is not checked
// (the Ledger test seed "zebra x24" has none).
std::array<std::uint8_t, 64> bip39_seed(std::string_view mnemonic, std::string_view passphrase = "");

struct ExtendedKey {
  std::array<std::uint8_t, 32> key;         // private key / Ed25519 seed
  std::array<std::uint8_t, 32> chain_code;
};

// Master key from a seed (SLIP-10 master derivation incl. the retry rule for invalid keys).
// Precondition: curve is not Bls12_381 (aborts); derive_path checks this and fails instead.
ExtendedKey master_key(Curve curve, ByteView seed);
// One child step. Ed25519 fails on a non-hardened index.
Result<ExtendedKey, CryptoError> derive_child(Curve curve, const ExtendedKey& parent, std::uint32_t index);
// master_key followed by derive_child for each index.
Result<ExtendedKey, CryptoError> derive_path(Curve curve, ByteView seed, const std::vector<std::uint32_t>& path);

}  // namespace pisigner::crypto
