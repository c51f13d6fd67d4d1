// Typed client of the Tezos Baking app over any Transport (APDU table: protocol.hpp,
// ledger/doc/protocol.md). Not thread-safe: used by the single device owner.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pisigner/bytes.hpp"
#include "pisigner/ledger/device_error.hpp"
#include "pisigner/ledger/protocol.hpp"
#include "pisigner/ledger/transport.hpp"
#include "pisigner/result.hpp"

namespace pisigner::ledger {

using Path = std::vector<std::uint32_t>;

struct AppVersion {
  std::uint8_t app_class = 0;  // 1 = Tezos Baking
  std::uint8_t major = 0, minor = 0, patch = 0;
  std::string to_string() const;  // "2.5.1"
};

// A decoded public key: Ed25519 32 bytes; secp256k1/P-256 33 bytes compressed SEC1;
// BLS12-381 48 bytes compressed G1.
struct PublicKey {
  DerivationType curve = DerivationType::Ed25519;
  Bytes bytes;
};

struct AuthorizedKey {
  DerivationType curve = DerivationType::Ed25519;
  Path path;
};

struct MainHwm {
  std::uint32_t level = 0;
  std::optional<std::uint32_t> round;  // absent on pre-Tenderbake apps (4-byte reply)
};

struct AllHwm {
  std::uint32_t main_level = 0;
  std::optional<std::uint32_t> main_round;  // absent in the 12-byte layout
  std::uint32_t test_level = 0;
  std::optional<std::uint32_t> test_round;
  std::uint32_t main_chain_id = 0;  // 0 = unspecified
};

// Signature bytes as Tezos encodes them: Ed25519 64, ECDSA 64 (r||s, low S), BLS 96.
struct Signature {
  DerivationType curve = DerivationType::Ed25519;
  Bytes bytes;
};

struct BakingAppTimeouts {
  std::chrono::milliseconds apdu{3000};      // instructions that answer without user action
  std::chrono::milliseconds prompt{120000};  // SETUP, RESET, AUTHORIZE, PROMPT_PUBLIC_KEY
};

// "N || N x u32 BE". Fails (WrongParam) for more than 10 components.
Result<Bytes, DeviceError> encode_path(const Path& path);

class BakingApp {
 public:
  explicit BakingApp(Transport& transport, BakingAppTimeouts timeouts = {});

  Result<AppVersion, DeviceError> version();
  Result<std::string, DeviceError> git();
  Result<PublicKey, DeviceError> get_public_key(DerivationType curve, const Path& path);
  Result<PublicKey, DeviceError> prompt_public_key(DerivationType curve, const Path& path);
  Result<PublicKey, DeviceError> authorize_baking(DerivationType curve, const Path& path);
  // nullopt when no key is authorized.
  Result<std::optional<Path>, DeviceError> query_auth_key();
  Result<std::optional<AuthorizedKey>, DeviceError> query_auth_key_with_curve();
  Result<MainHwm, DeviceError> query_main_hwm();
  Result<AllHwm, DeviceError> query_all_hwm();
  Result<PublicKey, DeviceError> setup(DerivationType curve, const Path& path, std::uint32_t main_chain_id,
                                       std::uint32_t main_level, std::uint32_t test_level);
  Result<void, DeviceError> reset(std::uint32_t level);
  Result<void, DeviceError> deauthorize();
  // `message` is the whole watermarked payload (magic byte first), at most 235 bytes.
  Result<Signature, DeviceError> sign(DerivationType curve, const Path& path, ByteView message);
  // As sign(), and checks the returned hash equals BLAKE2b-256(message) (BadReply otherwise).
  Result<Signature, DeviceError> sign_with_hash(DerivationType curve, const Path& path, ByteView message);
  // The same in steps, so the host works (the daemon's watermark fsync) while the device reads the
  // path: begin sends the path and returns at once; then exactly one of finish (reads the path's
  // reply, sends `message`, returns the signature) or abandon (reads the reply; nothing is signed).
  Result<void, DeviceError> sign_with_hash_begin(DerivationType curve, const Path& path);
  Result<Signature, DeviceError> sign_with_hash_finish(DerivationType curve, ByteView message);
  Result<void, DeviceError> sign_with_hash_abandon();
  Result<std::array<std::uint8_t, 32>, DeviceError> hmac(DerivationType curve, const Path& path, ByteView message);

  // One raw exchange; status words other than 0x9000 become DeviceError.
  Result<Bytes, DeviceError> call(Ins ins, std::uint8_t p1, std::uint8_t p2, Bytes data, std::chrono::milliseconds timeout);

 private:
  Result<PublicKey, DeviceError> pubkey_call(Ins ins, DerivationType curve, const Path& path,
                                             std::chrono::milliseconds timeout);
  Result<Bytes, DeviceError> sign_raw(Ins ins, DerivationType curve, const Path& path, ByteView message);
  Result<Bytes, DeviceError> sign_message(Ins ins, DerivationType curve, ByteView message);
  static Result<void, DeviceError> check_length(ByteView message);  // refused on the host, before any APDU
  Result<void, DeviceError> read_path_reply();

  Transport& transport_;
  BakingAppTimeouts timeouts_;
  bool path_sent_ = false;  // sign_with_hash_begin() sent the path; its reply is not read yet
};

// Reply decoders, exposed for tests and for the emulator's own checks.
// `len || key` -> PublicKey (compressing ECDSA points, taking the first 48 bytes for BLS).
Result<PublicKey, DeviceError> decode_public_key(DerivationType curve, ByteView reply);
// Device signature -> Tezos signature bytes (ECDSA: clear the parity bit, DER -> low-S r||s).
Result<Signature, DeviceError> decode_signature(DerivationType curve, ByteView reply);

}  // namespace pisigner::ledger
