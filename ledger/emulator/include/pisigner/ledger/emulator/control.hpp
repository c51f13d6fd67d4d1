// Fault injection for the virtual Ledger: the device conditions a baking host must
// survive, switched by one-line text commands (see README.md, "Control protocol").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pisigner/ledger/emulator/app_model.hpp"

namespace pisigner::ledger::emulator {

struct Faults {
  bool locked = false;        // every APDU -> 0x5515 (PIN lock: the OS answers, not the app)
  bool app_closed = false;    // every APDU -> 0x6E00 (dashboard or another app), VERSION too
  bool hang = false;          // APDUs are read and never answered
  bool disconnected = false;  // client socket closed, new connections refused
  std::uint32_t delay_ms = 0; // every reply delayed this long
  bool operator==(const Faults&) const = default;
};

// Applies control commands to a model and a fault set. Pure; not thread-safe (the
// server's loop owns it). `initial_*` are what `reset` restores.
class Controller {
 public:
  Controller(BakingAppModel& model, Faults initial_faults, AppState initial_state, PromptAnswer initial_prompt);

  // One command line (no newline) -> one reply line: "OK ..." or "ERR <reason>".
  // Words may be written "key value" or "key=value".
  std::string execute(std::string_view line);

  const Faults& faults() const { return faults_; }
  std::string status() const;

 private:
  BakingAppModel& model_;
  Faults faults_;
  const Faults initial_faults_;
  const AppState initial_state_;
  const PromptAnswer initial_prompt_;
};

}  // namespace pisigner::ledger::emulator
