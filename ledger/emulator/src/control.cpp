#include "pisigner/ledger/emulator/control.hpp"

#include <charconv>
#include <sstream>
#include <vector>

namespace pisigner::ledger::emulator {

namespace {

std::vector<std::string> words(std::string_view line) {
  std::string s(line);
  if (auto eq = s.find('='); eq != std::string::npos) s[eq] = ' ';
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// "on"/"off" (also 1/0, true/false); a bare flag name means "on".
int on_off(const std::vector<std::string>& w) {
  if (w.size() == 1) return 1;
  if (w.size() != 2) return -1;
  if (w[1] == "on" || w[1] == "1" || w[1] == "true") return 1;
  if (w[1] == "off" || w[1] == "0" || w[1] == "false") return 0;
  return -1;
}

}  // namespace

Controller::Controller(BakingAppModel& model, Faults initial_faults, AppState initial_state,
                       PromptAnswer initial_prompt)
    : model_(model),
      faults_(initial_faults),
      initial_faults_(initial_faults),
      initial_state_(std::move(initial_state)),
      initial_prompt_(initial_prompt) {}

std::string Controller::status() const {
  const AppState& s = model_.state();
  std::ostringstream o;
  o << "locked=" << faults_.locked << " app_closed=" << faults_.app_closed << " hang=" << faults_.hang
    << " disconnected=" << faults_.disconnected << " delay_ms=" << faults_.delay_ms
    << " prompt=" << (model_.prompt_answer() == PromptAnswer::Approve ? "approve" : "refuse")
    << " pin=" << model_.pin_validated() << " main=" << s.main.level << "/" << s.main.round
    << " test=" << s.test.level << "/" << s.test.round << " authorized=" << !s.baking_key.path.empty();
  return o.str();
}

std::string Controller::execute(std::string_view line) {
  const std::vector<std::string> w = words(line);
  if (w.empty()) return "ERR empty command";
  const std::string& cmd = w[0];
  auto flag = [&](bool& f) -> std::string {
    int v = on_off(w);
    if (v < 0) return "ERR usage: " + cmd + " [on|off]";
    f = v == 1;
    return "OK " + status();
  };
  if (cmd == "status") return "OK " + status();
  if (cmd == "locked") return flag(faults_.locked);
  if (cmd == "app_closed") return flag(faults_.app_closed);
  if (cmd == "hang") return flag(faults_.hang);
  if (cmd == "disconnect") {
    faults_.disconnected = true;
    return "OK " + status();
  }
  if (cmd == "reconnect") {
    faults_.disconnected = false;
    return "OK " + status();
  }
  if (cmd == "delay_ms") {
    std::uint32_t ms = 0;
    if (w.size() != 2) return "ERR usage: delay_ms <milliseconds>";
    auto [p, ec] = std::from_chars(w[1].data(), w[1].data() + w[1].size(), ms);
    if (ec != std::errc{} || p != w[1].data() + w[1].size()) return "ERR delay_ms needs a number";
    faults_.delay_ms = ms;
    return "OK " + status();
  }
  if (cmd == "prompt") {
    if (w.size() == 2 && w[1] == "approve") model_.set_prompt_answer(PromptAnswer::Approve);
    else if (w.size() == 2 && w[1] == "refuse") model_.set_prompt_answer(PromptAnswer::Refuse);
    else return "ERR usage: prompt approve|refuse";
    return "OK " + status();
  }
  if (cmd == "pin") {
    bool v = model_.pin_validated();
    std::string r = flag(v);
    model_.set_pin_validated(v);
    return r;
  }
  if (cmd == "state") {
    return "OK " + state_to_json(model_.state(), false);
  }
  if (cmd == "reset") {
    faults_ = initial_faults_;
    model_.restart(initial_state_);
    model_.set_prompt_answer(initial_prompt_);
    model_.set_pin_validated(true);
    return "OK " + status();
  }
  return "ERR unknown command: " + cmd;
}

}  // namespace pisigner::ledger::emulator
