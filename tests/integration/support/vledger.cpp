#include "vledger.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

namespace pisigner::testing {

Vledger::Vledger(const std::vector<std::string>& extra) {
  std::vector<std::string> argv{PISIGNER_VLEDGER_PATH, "--apdu-port", "0", "--control-port", "0", "--print-ready",
                                "--authorize", kLedgerPath, "--curve", "ed25519"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  proc_ = std::make_unique<Process>(argv);
  auto line = proc_->wait_line("READY ", std::chrono::seconds(10));
  if (!line) throw std::runtime_error("pisigner-vledger did not start");
  apdu_ = std::stoi(line->substr(line->find("apdu=") + 5));
  control_ = std::stoi(line->substr(line->find("control=") + 8));
}

void Vledger::ctl(const std::string& cmd, const std::string& arg) {
  std::vector<std::string> argv{PISIGNER_VLEDGER_PATH, "ctl", "--control-port", std::to_string(control_), cmd};
  if (!arg.empty()) argv.push_back(arg);
  auto [rc, out] = run_command(argv);
  ASSERT_EQ(rc, 0) << out;
}

}  // namespace pisigner::testing
