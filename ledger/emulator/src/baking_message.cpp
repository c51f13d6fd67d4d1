#include "baking_message.hpp"

namespace pisigner::ledger::emulator {

namespace {

// A bounds-checked reader in the spirit of the SDK's buffer_t.
class Reader {
 public:
  explicit Reader(ByteView b) : b_(b) {}
  bool u8(std::uint8_t& out) {
    if (!has(1)) return false;
    out = b_[off_++];
    return true;
  }
  bool u32(std::uint32_t& out) {
    if (!has(4)) return false;
    out = read_be32(b_, off_);
    off_ += 4;
    return true;
  }
  bool skip(std::size_t n) {
    if (!has(n)) return false;
    off_ += n;
    return true;
  }

 private:
  bool has(std::size_t n) const { return b_.size() - off_ >= n; }
  ByteView b_;
  std::size_t off_ = 0;
};

constexpr std::uint32_t kFitnessSizeNoLockedRound = 33;
constexpr std::uint32_t kFitnessSizeLockedRound = 37;
constexpr std::uint8_t kTenderbakeFitnessVersion = 2;

std::optional<BakingMessage> parse_block(Reader& r) {
  BakingMessage m{BakingKind::Block, 0, 0, 0};
  // chain id, level, proto, predecessor, timestamp, validation pass, operations hash
  if (!r.u32(m.chain_id) || !r.u32(m.level) || !r.skip(1 + 32 + 8 + 1 + 32)) return std::nullopt;
  std::uint32_t size = 0;
  std::uint8_t tag = 0;
  if (!r.u32(size) || (size != kFitnessSizeNoLockedRound && size != kFitnessSizeLockedRound)) return std::nullopt;
  if (!r.u32(size) || size != 1 || !r.u8(tag) || tag != kTenderbakeFitnessVersion) return std::nullopt;
  // level, locked_round, predecessor_round: skipped by their own sizes, as the app does.
  for (int i = 0; i < 3; ++i) {
    if (!r.u32(size) || !r.skip(size)) return std::nullopt;
  }
  if (!r.u32(size) || size != 4 || !r.u32(m.round)) return std::nullopt;
  return m;
}

std::optional<BakingMessage> parse_consensus(Reader& r, BakingKind kind) {
  BakingMessage m{kind, 0, 0, 0};
  // chain id, branch, op tag (unchecked), slot, level, round, block payload hash
  if (!r.u32(m.chain_id) || !r.skip(32 + 1 + 2) || !r.u32(m.level) || !r.u32(m.round) || !r.skip(32))
    return std::nullopt;
  return m;
}

}  // namespace

std::optional<BakingMessage> parse_baking_message(ByteView message) {
  Reader r(message);
  std::uint8_t magic = 0;
  if (!r.u8(magic)) return std::nullopt;
  switch (magic) {
    case kMagicBlock: return parse_block(r);
    case kMagicPreattestation: return parse_consensus(r, BakingKind::Preattestation);
    case kMagicAttestation: return parse_consensus(r, BakingKind::Attestation);
    default: return std::nullopt;  // incl. 0x03 manager operations: not modelled
  }
}

}  // namespace pisigner::ledger::emulator
