// A model of the Tezos Baking app (trilitech/ledger-app-tezos-baking v2.5.1,
// commit 50ec8cf): raw APDU in, reply data and status word out. Pure: no
// sockets, no clock, no files. See ledger/emulator/README.md for what is modelled.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "pisigner/bytes.hpp"
#include "pisigner/ledger/emulator/app_state.hpp"
#include "pisigner/ledger/emulator/keyring.hpp"

namespace pisigner::ledger::emulator {

struct ApduResponse {
  Bytes data;
  std::uint16_t sw = 0;
  // data || SW1 SW2, the device's reply message.
  Bytes message() const;
};

// What the user does when the app asks for confirmation (SETUP, RESET, AUTHORIZE_BAKING,
// PROMPT_PUBLIC_KEY).
enum class PromptAnswer { Approve, Refuse };

struct AppIdentity {
  std::array<std::uint8_t, 3> version{2, 5, 1};  // major, minor, patch
  std::string git_commit = "50ec8cfc";           // GIT reply, sent NUL-terminated
};

// Not thread-safe: one owner (the APDU server loop) calls handle().
class BakingAppModel {
 public:
  BakingAppModel(Keyring keys, AppState nvram, AppIdentity identity = {});

  // Processes one raw APDU (CLA INS P1 P2 [Lc data]) like the app's main loop.
  ApduResponse handle(ByteView apdu);

  const AppState& state() const { return nvram_; }
  // Replaces NVRAM and forgets the session (selected key, partial SIGN), like an app restart.
  void restart(AppState nvram);
  // Counts NVRAM writes; a caller persisting the state saves when this changes.
  std::uint64_t nvram_generation() const { return generation_; }

  void set_prompt_answer(PromptAnswer a) { prompt_ = a; }
  PromptAnswer prompt_answer() const { return prompt_; }
  // PIN validated (the default, as on an unlocked device or under Speculos). When false,
  // GET_PUBLIC_KEY, the prompts' key replies and SIGN answer 0x6982.
  void set_pin_validated(bool v) { pin_validated_ = v; }
  bool pin_validated() const { return pin_validated_; }

  const Keyring& keys() const { return keys_; }

 private:
  struct Command {
    std::uint8_t cla, ins, p1, p2;
    ByteView data;
  };
  ApduResponse dispatch(const Command& c);
  ApduResponse get_public_key(const Command& c, bool authorize, bool prompt);
  ApduResponse provide_pubkey(const KeyRef& key) const;
  ApduResponse setup(const Command& c);
  ApduResponse reset(const Command& c);
  ApduResponse hmac(const Command& c);
  ApduResponse select_signing_key(const Command& c);
  ApduResponse sign(const Command& c, bool last, bool with_hash);
  ApduResponse queries(const Command& c);
  void nvram_written() { ++generation_; }

  // Constant after construction.
  Keyring keys_;
  AppIdentity identity_;

  // NVRAM.
  AppState nvram_;
  std::uint64_t generation_ = 0;

  // RAM, lost on restart: the key the last key command selected and the SIGN packet counter.
  KeyRef current_key_;
  unsigned packet_index_ = 0;

  // The world around the app.
  PromptAnswer prompt_ = PromptAnswer::Approve;
  bool pin_validated_ = true;
};

}  // namespace pisigner::ledger::emulator
