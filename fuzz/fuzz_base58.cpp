// base58 / base58check and the Tezos objects parsed from text (pkh, public key, signature, chain id).
// Properties: nothing crashes; whatever parses prints back to the same text (one spelling per value).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "pisigner/tezos/base58.hpp"
#include "pisigner/tezos/keys.hpp"

using namespace pisigner;
using namespace pisigner::tezos;

namespace {
constexpr Prefix kAll[] = {
    Prefix::Tz1,  Prefix::Tz2,   Prefix::Tz3,   Prefix::Tz4,   Prefix::Edpk,       Prefix::Sppk,
    Prefix::P2pk, Prefix::BLpk,  Prefix::Edsk,  Prefix::EdskLong, Prefix::Spsk,    Prefix::P2sk,
    Prefix::BLsk, Prefix::Edesk, Prefix::Spesk, Prefix::P2esk, Prefix::BLesk,      Prefix::Edsig,
    Prefix::Spsig1, Prefix::P2sig, Prefix::GenericSig, Prefix::BLsig, Prefix::ChainId, Prefix::BlockHash,
    Prefix::BlockPayloadHash,
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto raw = base58_decode(text)) FUZZ_CHECK(base58_encode(*raw) == text);

  if (auto any = b58check_decode_any(kAll, text, "object")) {
    FUZZ_CHECK(any->second.size() == payload_size(any->first));
    FUZZ_CHECK(b58check_encode(any->first, any->second) == text);
  }
  if (auto pkh = PublicKeyHash::parse(text)) {
    FUZZ_CHECK(pkh->to_b58() == text);
    auto back = PublicKeyHash::from_binary(pkh->binary());
    FUZZ_CHECK(back.ok() && *back == *pkh);
  }
  if (auto pk = PublicKey::parse(text)) {
    FUZZ_CHECK(pk->to_b58() == text);
    (void)pk->hash();
  }
  if (auto sig = Signature::parse(text)) {
    FUZZ_CHECK((sig->curve ? sig->to_b58() : sig->to_generic_b58()) == text);
  }
  if (auto chain = ChainId::parse(text)) FUZZ_CHECK(chain->to_b58() == text);

  // The binary forms the HWM store and the authentication check read back.
  const ByteView bytes(data, size);
  if (auto pkh = PublicKeyHash::from_binary(bytes)) FUZZ_CHECK(pkh->binary() == Bytes(bytes.begin(), bytes.end()));
  for (Curve c : {Curve::Ed25519, Curve::Secp256k1, Curve::P256, Curve::Bls12_381}) {
    if (auto pk = PublicKey::from_raw(c, bytes)) {
      auto again = PublicKey::parse(pk->to_b58());
      FUZZ_CHECK(again.ok() && *again == *pk);
    }
  }
  return 0;
}
