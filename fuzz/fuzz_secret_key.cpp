// octez secret key URIs (unencrypted:/encrypted:, the encrypted form's secretbox decoder).
// Input: byte 0 holds flags. Bit 0 clear: the rest is "uri[\npassphrase]" as typed in a config.
// Bit 0 set: the rest is byte 1, picking a secret-key prefix, and a raw payload that gets that prefix
// and a valid checksum, so every input gets past base58check into the length, curve and decryption
// checks (bit 1: with the encrypted: scheme; bit 2: with the octez vectors' passphrase).
// Decrypting costs 32768 PBKDF2 rounds (about 2 s under ASan): inputs that reach it are run but not
// kept in the corpus (return -1), or mutations of them would take most of a run; the corpus holds one
// key that decrypts, and tests/tezos/secret_key_test.cpp the rest of the octez vectors.
// Properties: nothing crashes; a key that parses re-encodes to a URI that parses to the same key;
// error messages never carry the input's secret bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "pisigner/crypto/hash.hpp"
#include "pisigner/tezos/base58.hpp"
#include "pisigner/tezos/secret_key.hpp"

using namespace pisigner;
using namespace pisigner::tezos;

namespace {
constexpr std::string_view kBase58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr Prefix kSecret[] = {Prefix::Edsk,  Prefix::EdskLong, Prefix::Spsk,  Prefix::P2sk, Prefix::BLsk,
                              Prefix::Edesk, Prefix::Spesk,    Prefix::P2esk, Prefix::BLesk};

// A prefix's bytes, read back from an encoding of a zero payload.
Bytes prefix_bytes(Prefix p) {
  const std::size_t n = payload_size(p);
  Bytes all = base58_decode(b58check_encode(p, Bytes(n))).value();
  return Bytes(all.begin(), all.end() - static_cast<std::ptrdiff_t>(n + 4));
}

// base58(prefix || payload || sha256d[0..4]) for any payload length.
std::string encode_any(Prefix p, ByteView payload) {
  Bytes b = prefix_bytes(p);
  b.insert(b.end(), payload.begin(), payload.end());
  const auto check = crypto::sha256d(b);
  b.insert(b.end(), check.begin(), check.begin() + 4);
  return base58_encode(b);
}

// Returns libFuzzer's verdict: -1 when the input ran the key derivation (not worth mutating).
int check_key(std::string_view uri, std::optional<std::string_view> passphrase) {
  auto key = parse_secret_key(uri, passphrase);
  if (!key) {
    const std::string& m = key.error().message;
    FUZZ_CHECK(!m.empty());
    // The message may name the scheme or prefix, never quote the key text: a base58 run of 16 or more
    // characters (no fixed message has one) taken from the input must not appear in it.
    const std::string_view body = uri.substr(uri.find(':') == std::string_view::npos ? 0 : uri.find(':') + 1);
    if (body.size() >= 16 && body.find_first_not_of(kBase58Alphabet) == std::string_view::npos) {
      FUZZ_CHECK(m.find(body.substr(0, 16)) == std::string::npos);
    }
    return m == "wrong passphrase or corrupt encrypted key" ? -1 : 0;
  }
  auto again = parse_secret_key(encode_secret_key(*key));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->curve() == key->curve());
  FUZZ_CHECK(again->public_key() == key->public_key());
  return passphrase ? -1 : 0;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  if ((data[0] & 1) == 0) {
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    const auto nl = rest.find('\n');
    if (nl == std::string_view::npos) return check_key(rest, std::nullopt);
    return check_key(rest.substr(0, nl), rest.substr(nl + 1));
  }
  const Prefix p = kSecret[data[1] % std::size(kSecret)];
  const std::string text = encode_any(p, ByteView(data + 2, size - 2));
  // The octez test vectors' password, so seeds made from them decrypt.
  const auto passphrase = (data[0] & 4) ? std::optional<std::string_view>("ahThie5H") : std::nullopt;
  return check_key((data[0] & 2) ? "encrypted:" + text : text, passphrase);
}
