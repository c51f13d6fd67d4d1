// octez secret key URIs: "unencrypted:edsk..." and "encrypted:edesk..." (PBKDF2-HMAC-SHA512 +
// NaCl secretbox), also accepted without the scheme. Source: src/lib_signer_backends/encrypted.ml;
// format in signer/tezos/FORMATS.md §3.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pisigner/crypto/signing.hpp"
#include "pisigner/result.hpp"
#include "pisigner/tezos/error.hpp"

namespace pisigner::tezos {

// Fails with a message naming the problem (bad prefix, checksum, wrong passphrase, BLS unsupported)
// and never includes secret material in it. An encrypted key without a passphrase fails.
// Decrypting costs one PBKDF2 run of 32768 iterations (tens of milliseconds): do it at startup.
Result<crypto::SecretKey, TezosError> parse_secret_key(std::string_view uri,
                                                       std::optional<std::string_view> passphrase = std::nullopt);

// "unencrypted:edsk..." (32-byte seed form) / spsk / p2sk.
std::string encode_secret_key(const crypto::SecretKey& key);
// "encrypted:edesk..." with a fresh 8-byte salt, PBKDF2-HMAC-SHA512 (32768 iterations) as octez.
std::string encrypt_secret_key(const crypto::SecretKey& key, std::string_view passphrase);

}  // namespace pisigner::tezos
