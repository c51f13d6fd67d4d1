#include "pisigner/tezos/watermark.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "watermark_layout.hpp"

namespace pisigner::tezos {

namespace {

constexpr std::array<std::string_view, 4> kKindNames = {"block", "preattestation", "attestation", "endorsement"};
constexpr std::array<std::string_view, 4> kKindArticles = {"a block", "a preattestation", "an attestation",
                                                           "an endorsement"};

TezosError too_short(Kind k) {
  return TezosError{"byte sequence too short to be " + std::string(kKindArticles[static_cast<std::size_t>(k)])};
}

std::int32_t read_i32(ByteView p, std::size_t offset) { return static_cast<std::int32_t>(read_be32(p, offset)); }

// Levels and rounds are non-negative in every protocol; a negative one would sort below
// every stored watermark and must not reach the comparison.
Result<Watermark, TezosError> finish(Watermark w) {
  const std::string name(kKindNames[static_cast<std::size_t>(w.kind)]);
  if (w.level < 0) return fail(TezosError{"negative level in " + name});
  if (w.round && *w.round < 0) return fail(TezosError{"negative round in " + name});
  return w;
}

Result<Watermark, TezosError> tenderbake_block(ByteView p, Watermark w) {
  using namespace layout;
  if (p.size() < kBlockFitness) return fail(too_short(Kind::Block));
  w.level = read_i32(p, kBlockLevel);
  const std::uint32_t fitness_len = read_be32(p, kBlockFitnessLength);
  if (fitness_len < kRoundSize) {
    return fail(TezosError{"invalid block fitness length " + std::to_string(fitness_len)});
  }
  // Compare without adding to fitness_len, which comes from the client and may be huge.
  if (fitness_len > p.size() - kBlockFitness) return fail(too_short(Kind::Block));
  w.round = read_i32(p, kBlockFitness + fitness_len - kRoundSize);
  return finish(w);
}

Result<Watermark, TezosError> consensus(ByteView p, Watermark w, crypto::Curve signer_curve) {
  using namespace layout;
  const bool bls = signer_curve == crypto::Curve::Bls12_381;
  const std::size_t min = bls ? kBlsConsensusMinSize : kConsensusMinSize;
  if (p.size() < min) return fail(too_short(w.kind));
  w.level = read_i32(p, bls ? kBlsConsensusLevel : kConsensusLevel);
  w.round = read_i32(p, bls ? kBlsConsensusRound : kConsensusRound);
  return finish(w);
}

}  // namespace

std::string_view kind_name(Kind k) { return kKindNames[static_cast<std::size_t>(k)]; }

std::optional<Kind> parse_kind(std::string_view name) {
  for (std::size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<Kind>(i);
  }
  return std::nullopt;
}

Result<std::optional<Watermark>, TezosError> extract_watermark(ByteView payload, crypto::Curve signer_curve) {
  using namespace layout;
  if (payload.empty()) return fail(TezosError{"empty payload"});

  Watermark w;
  w.magic = payload[0];
  switch (w.magic) {
    case magic::kLegacyBlock:
    case magic::kBlock: w.kind = Kind::Block; break;
    case magic::kPreattestation: w.kind = Kind::Preattestation; break;
    case magic::kAttestation: w.kind = Kind::Attestation; break;
    case magic::kLegacyEndorsement: w.kind = Kind::Endorsement; break;
    default: return std::optional<Watermark>{};  // no watermark to check
  }
  if (payload.size() < kMinWatermarkedSize) return fail(too_short(w.kind));
  std::copy_n(payload.begin() + kChainOffset, w.chain.bytes.size(), w.chain.bytes.begin());

  Result<Watermark, TezosError> r = w;
  switch (w.magic) {
    case magic::kLegacyBlock:
      w.level = read_i32(payload, kBlockLevel);
      r = finish(w);
      break;
    case magic::kLegacyEndorsement:
      w.level = read_i32(payload, payload.size() - kLegacyEndorsementLevelFromEnd);
      r = finish(w);
      break;
    case magic::kBlock: r = tenderbake_block(payload, w); break;
    default: r = consensus(payload, w, signer_curve); break;
  }
  if (!r) return fail(std::move(r).error());
  return std::optional<Watermark>{std::move(r).value()};
}

}  // namespace pisigner::tezos
