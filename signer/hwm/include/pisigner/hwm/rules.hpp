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
};

struct Decision {
  enum class Action { Sign, ReturnCached, Refuse };
  Action action = Action::Sign;
  std::string signature;  // ReturnCached: the stored signature
  std::string message;    // Refuse: octez wording, e.g. "attestation level 5 below high watermark 7"
};

// No record: Sign. Lower (level, round): Refuse. Same (level, round) and same hash: ReturnCached if a
// signature is stored, else Sign (byte-identical re-sign after a crash). Same (level, round), other hash: Refuse.
Decision decide(tezos::Kind kind, const std::optional<Record>& stored, const Request& request);

}  // namespace pisigner::hwm
