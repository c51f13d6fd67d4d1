// The real virtual Ledger (pisigner-vledger) as a child process: ephemeral APDU and control ports,
// the "zebra" test seed authorized at m/44'/1729'/0'/0' (ed25519) unless `extra` says otherwise.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "process.hpp"

namespace pisigner::testing {

inline constexpr const char* kLedgerPath = "m/44'/1729'/0'/0'";
inline constexpr const char* kZebraTz1 = "tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E";  // Ledger test seed "zebra" x24

class Vledger {
 public:
  explicit Vledger(const std::vector<std::string>& extra = {});  // throws if it does not start
  int apdu_port() const { return apdu_; }
  // Runs `pisigner-vledger ctl <cmd> [arg]`; fails the test on a non-zero exit.
  void ctl(const std::string& cmd, const std::string& arg = "");

 private:
  std::unique_ptr<Process> proc_;
  int apdu_ = 0, control_ = 0;
};

}  // namespace pisigner::testing
