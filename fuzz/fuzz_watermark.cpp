// Watermark extraction and the policy check on a raw signing payload, for every signer curve.
// Properties: nothing crashes or reads out of bounds; a watermark is only found for the magic bytes
// that carry one, and the policy's view agrees with the extractor's.
#include <cstddef>
#include <cstdint>

#include "fuzz_check.hpp"
#include "pisigner/policy/policy.hpp"
#include "pisigner/tezos/watermark.hpp"

using namespace pisigner;
using namespace pisigner::tezos;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView payload(data, size);
  static const policy::Policy policy(policy::PolicyConfig{{0x01, 0x02, 0x03, 0x04, 0x05, 0x11, 0x12, 0x13}, {}});
  for (Curve c : {Curve::Ed25519, Curve::Secp256k1, Curve::P256, Curve::Bls12_381}) {
    auto wm = extract_watermark(payload, c);
    if (size == 0) FUZZ_CHECK(!wm.ok());
    if (wm.ok() && wm->has_value()) {
      const Watermark& w = **wm;
      FUZZ_CHECK(w.magic == data[0]);
      const bool watermarked = w.magic == magic::kLegacyBlock || w.magic == magic::kLegacyEndorsement ||
                               w.magic == magic::kBlock || w.magic == magic::kPreattestation ||
                               w.magic == magic::kAttestation;
      FUZZ_CHECK(watermarked);
      FUZZ_CHECK(w.round.has_value() == (w.magic >= magic::kBlock));
      (void)kind_name(w.kind);
    }
    auto checked = policy.check(payload, c, true);
    if (checked.ok()) {
      FUZZ_CHECK(wm.ok());
      FUZZ_CHECK(checked->has_value() == wm->has_value());
    }
  }
  return 0;
}
