// octez's watermark decision rule (reference/octez-signer.md §5.4), as a pure function.
#pragma once

#include <optional>
#include <string>

#include "pisigner/hwm/store.hpp"

namespace pisigner::hwm {

struct Request {
  std::int32_t level = 0;
  std::optional<std::int32_t> round;  // treated as 0 when absent
  crypto::Digest32 hash{};
  // The key signs the same bytes to the same signature (Ed25519, RFC 6979 ECDSA). Only then may a
  // slot whose signature was lost be signed again; otherwise the second signature would be a second
  // valid payload hash at the same (level, round).
  bool deterministic = false;
  // The key keeps a watermark of its own (a Ledger): with a shared watermark, it signs only once the
  // shared verdict released the slot, so a refused or unavailable slot leaves the device free to
  // sign it on a retry; and its signature is made durable before it is returned, since the device
  // would refuse to sign the same bytes again after a crash. Not a rule input.
  bool key_keeps_watermark = false;
};

// Limits the operator sets (config [policy]); the defaults are octez's rule alone.
struct RuleOptions {
  // Refuse an advance of more than this many levels over the stored watermark (a compromised or
  // confused node could otherwise push the watermark far ahead and stop the baker). nullopt: off.
  std::optional<std::int32_t> max_level_jump;
};

struct Decision {
  enum class Action { Sign, ReturnCached, Refuse };
  Action action = Action::Sign;
  std::string signature;  // ReturnCached: the stored signature
  std::string message;    // Refuse: octez wording, e.g. "attestation level 5 below high watermark 7"
};

// No record: Sign. Lower (level, round): Refuse. Same (level, round) and same hash: ReturnCached if a
// signature is stored, else Sign if the key is deterministic (byte-identical re-sign after a crash),
// else Refuse. Same (level, round), other hash: Refuse. Higher: Sign, unless the level is more than
// options.max_level_jump above the stored one (Refuse).
Decision decide(tezos::Kind kind, const std::optional<Record>& stored, const Request& request,
                const RuleOptions& options = {});

}  // namespace pisigner::hwm
