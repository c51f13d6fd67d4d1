// Tezos Baking app wire constants: the one place they are written down.
// Source: trilitech/ledger-app-tezos-baking src/apdu.h, src/exception.h (see
// shared/reference/ledger-apdu.md §2, and ledger/doc/protocol.md).
#pragma once

#include <cstddef>
#include <cstdint>

namespace pisigner::ledger {

inline constexpr std::uint16_t kLedgerVendorId = 0x2C97;
inline constexpr std::uint16_t kApduUsagePage = 0xFFA0;
inline constexpr std::size_t kHidReportSize = 64;
inline constexpr std::uint16_t kHidChannel = 0x0101;
inline constexpr std::uint8_t kHidTagApdu = 0x05;
inline constexpr std::size_t kMaxApduData = 235;  // Lc limit of the baking app

inline constexpr std::uint8_t kCla = 0x80;

enum class Ins : std::uint8_t {
  Version = 0x00,
  AuthorizeBaking = 0x01,
  GetPublicKey = 0x02,
  PromptPublicKey = 0x03,
  Sign = 0x04,
  Reset = 0x06,
  QueryAuthKey = 0x07,
  QueryMainHwm = 0x08,
  Git = 0x09,
  Setup = 0x0A,
  QueryAllHwm = 0x0B,
  Deauthorize = 0x0C,
  QueryAuthKeyWithCurve = 0x0D,
  Hmac = 0x0E,
  SignWithHash = 0x0F,
};

// P1 of SIGN / SIGN_WITH_HASH.
inline constexpr std::uint8_t kP1First = 0x00;
inline constexpr std::uint8_t kP1Last = 0x81;

// P2 derivation types.
enum class DerivationType : std::uint8_t { Ed25519 = 0, Secp256k1 = 1, P256 = 2, Bip32Ed25519 = 3, Bls12_381 = 4 };

// The name the config, the admin API and health details use for a derivation type.
constexpr const char* derivation_name(DerivationType d) {
  switch (d) {
    case DerivationType::Ed25519: return "ed25519";
    case DerivationType::Secp256k1: return "secp256k1";
    case DerivationType::P256: return "p256";
    case DerivationType::Bip32Ed25519: return "bip32_ed25519";
    case DerivationType::Bls12_381: return "bls12_381";
  }
  return "?";
}

namespace sw {
inline constexpr std::uint16_t kOk = 0x9000;
inline constexpr std::uint16_t kReject = 0x6985;             // user refused on device
inline constexpr std::uint16_t kSecurity = 0x6982;           // not the authorized key / PIN not validated
inline constexpr std::uint16_t kWrongValues = 0x6A80;        // HWM violation, bad path
inline constexpr std::uint16_t kParseError = 0x9405;         // not a baking message
inline constexpr std::uint16_t kWrongParam = 0x6B00;
inline constexpr std::uint16_t kWrongLength = 0x6C00;
inline constexpr std::uint16_t kWrongLengthForIns = 0x917E;
inline constexpr std::uint16_t kInvalidIns = 0x6D00;
inline constexpr std::uint16_t kClaNotSupported = 0x6E00;    // wrong / no app open
inline constexpr std::uint16_t kAppNotOpenNew = 0x6E01;      // newer firmware, no app
inline constexpr std::uint16_t kAppNotOpenNew2 = 0x6511;
inline constexpr std::uint16_t kReferencedDataNotFound = 0x6A88;
inline constexpr std::uint16_t kMemoryError = 0x9200;
inline constexpr std::uint16_t kUnknownCxError = 0x9001;
inline constexpr std::uint16_t kLocked = 0x5515;             // device PIN-locked (OS answers)
}  // namespace sw

inline constexpr std::uint8_t kBakingAppClass = 1;  // VERSION byte 0

}  // namespace pisigner::ledger
