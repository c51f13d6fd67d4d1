// The control protocol: fault flags, prompt answer, PIN, and reset to the initial state.
#include "pisigner/ledger/emulator/control.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace pisigner;
using namespace pisigner::ledger::emulator;
using namespace vledger_test;

TEST(Control, FlagsDelayPromptAndReset) {
  AppState initial;
  initial.main = Watermark{5, 0, false, false};
  BakingAppModel model(Keyring::from_mnemonic(kTestMnemonic), initial);
  Controller c(model, Faults{}, initial, PromptAnswer::Approve);

  EXPECT_EQ(c.execute("locked on").rfind("OK", 0), 0u);
  EXPECT_TRUE(c.faults().locked);
  EXPECT_EQ(c.execute("locked off").rfind("OK", 0), 0u);
  EXPECT_FALSE(c.faults().locked);
  EXPECT_EQ(c.execute("app_closed").rfind("OK", 0), 0u);
  EXPECT_TRUE(c.faults().app_closed);
  EXPECT_EQ(c.execute("hang=on").rfind("OK", 0), 0u);
  EXPECT_TRUE(c.faults().hang);
  EXPECT_EQ(c.execute("delay_ms=250").rfind("OK", 0), 0u);
  EXPECT_EQ(c.faults().delay_ms, 250u);
  EXPECT_EQ(c.execute("disconnect").rfind("OK", 0), 0u);
  EXPECT_TRUE(c.faults().disconnected);
  EXPECT_EQ(c.execute("reconnect").rfind("OK", 0), 0u);
  EXPECT_FALSE(c.faults().disconnected);

  EXPECT_EQ(c.execute("prompt refuse").rfind("OK", 0), 0u);
  EXPECT_EQ(model.handle(apdu(0x06, 0, 0, be32(9))).sw, 0x6985);
  EXPECT_EQ(c.execute("prompt=approve").rfind("OK", 0), 0u);
  EXPECT_EQ(model.handle(apdu(0x06, 0, 0, be32(9))).sw, 0x9000);
  EXPECT_EQ(model.state().main.level, 9u);
  EXPECT_EQ(c.execute("pin off").rfind("OK", 0), 0u);
  EXPECT_EQ(model.handle(apdu(0x02, 0, 0, path_bytes(kTezosPath))).sw, 0x6982);

  EXPECT_NE(c.execute("state").find("\"level\":9"), std::string::npos);
  EXPECT_EQ(c.execute("reset").rfind("OK", 0), 0u);
  EXPECT_EQ(c.faults(), Faults{});
  EXPECT_EQ(model.state(), initial);
  EXPECT_TRUE(model.pin_validated());
}

TEST(Control, BadCommandsAreErrors) {
  BakingAppModel model(Keyring::from_mnemonic(kTestMnemonic), AppState{});
  Controller c(model, Faults{}, AppState{}, PromptAnswer::Approve);
  for (const char* bad : {"", "fly", "locked maybe", "delay_ms", "delay_ms x", "prompt later"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(c.execute(bad).rfind("ERR", 0), 0u);
  }
  EXPECT_EQ(c.faults(), Faults{});
}
