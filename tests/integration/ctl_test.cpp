// pisignerctl as a baker uses it over SSH: status against the running daemon, and the HWM tools.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/daemon.hpp"

using namespace pisigner::testing;
using nlohmann::json;

namespace {
const std::string kKeyPath = std::string("/keys/") + kBootstrap1Pkh;
std::string quoted(const std::string& s) { return "\"" + s + "\""; }
}  // namespace

TEST(Pisignerctl, StatusShowsKeysChecksAndWatermarks) {
  TempDir dir("ctl-status");
  Daemon d(dir.path(), basic_config(dir.path()));
  auto c = d.client();
  ASSERT_EQ(c.post(kKeyPath, quoted(attestation_hex(42, 3))).status, 200);
  const std::string url = "http://127.0.0.1:" + std::to_string(d.port());
  auto [rc, out] = run_command({pisignerctl_path(), "status", "--url", url});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("AUTHORIZED"), std::string::npos) << out;
  EXPECT_NE(out.find(kBootstrap1Pkh), std::string::npos);
  EXPECT_NE(out.find("store_writable"), std::string::npos);
  EXPECT_NE(out.find("42"), std::string::npos);
  auto [rcj, outj] = run_command({pisignerctl_path(), "status", "--url", url, "--json"});
  EXPECT_EQ(rcj, 0);
  auto j = json::parse(outj);
  EXPECT_EQ(j["watermarks"][0]["level"], 42);
  EXPECT_EQ(j["watermarks"][0]["round"], 3);
  // A daemon that is not there: a clear message and exit 2.
  d.stop();
  auto [rc2, out2] = run_command({pisignerctl_path(), "status", "--url", url});
  EXPECT_EQ(rc2, 2);
  EXPECT_NE(out2.find("not answering"), std::string::npos) << out2;
}

TEST(Pisignerctl, HwmShowSetAndImportOctez) {
  TempDir dir("ctl-hwm");
  const std::string store = (dir.path() / "store").string();
  {
    Daemon d(dir.path(), basic_config(dir.path()));
    auto c = d.client();
    ASSERT_EQ(c.post(kKeyPath, quoted(attestation_hex(100, 0))).status, 200);
    // show works while the daemon runs; set does not (the store is the daemon's).
    auto [rc, out] = run_command({pisignerctl_path(), "hwm", "--store", store, "show"});
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("attestation"), std::string::npos) << out;
    EXPECT_NE(out.find("100"), std::string::npos) << out;
    auto [rc2, out2] = run_command({pisignerctl_path(), "hwm", "--store", store, "set", "--kind", "attestation", "--chain",
                                    "NetXxkAx4woPLyu", "--pkh", kBootstrap1Pkh, "--level", "5", "--round", "0", "--yes"});
    EXPECT_NE(rc2, 0);
    EXPECT_NE(out2.find("in use"), std::string::npos) << out2;
  }
  // Not confirmed: nothing changes.
  auto [rc3, out3] = run_command({pisignerctl_path(), "hwm", "--store", store, "set", "--kind", "attestation", "--chain",
                                  "NetXxkAx4woPLyu", "--pkh", kBootstrap1Pkh, "--level", "500", "--round", "0"},
                                 "no\n");
  EXPECT_NE(rc3, 0) << out3;
  auto [rc4, out4] = run_command({pisignerctl_path(), "hwm", "--store", store, "show", "--json"});
  EXPECT_EQ(json::parse(out4)[0]["level"], 100) << out4;
  // Confirmed: raised to 500, and the daemon then refuses 400.
  auto [rc5, out5] = run_command({pisignerctl_path(), "hwm", "--store", store, "set", "--kind", "attestation", "--chain",
                                  "NetXxkAx4woPLyu", "--pkh", kBootstrap1Pkh, "--level", "500", "--round", "0"},
                                 "yes\n");
  EXPECT_EQ(rc5, 0) << out5;
  // Import octez block watermarks: the higher one wins, nothing is lowered.
  std::filesystem::create_directories(dir.path() / "octez");
  std::ofstream(dir.path() / "octez" / "block_high_watermarks")
      << R"({"NetXxkAx4woPLyu":{")" << kBootstrap1Pkh
      << R"(":{"level":777,"round":1,"hash":"0000000000000000000000000000000000000000000000000000000000000000"}}})";
  std::ofstream(dir.path() / "octez" / "attestation_high_watermarks")
      << R"({"NetXxkAx4woPLyu":{")" << kBootstrap1Pkh
      << R"(":{"level":300,"round":0,"hash":"0000000000000000000000000000000000000000000000000000000000000000"}}})";
  auto [rc6, out6] = run_command({pisignerctl_path(), "hwm", "--store", store, "import-octez",
                                  (dir.path() / "octez").string(), "--yes"});
  EXPECT_EQ(rc6, 0) << out6;
  EXPECT_NE(out6.find("1 imported, 1 kept"), std::string::npos) << out6;
  Daemon d(dir.path(), basic_config(dir.path()));
  auto c = d.client();
  EXPECT_EQ(c.post(kKeyPath, quoted(attestation_hex(400, 0))).status, 500);
  EXPECT_EQ(c.post(kKeyPath, quoted(block_hex(777, 0))).status, 500);
  EXPECT_EQ(c.post(kKeyPath, quoted(block_hex(778, 0))).status, 200);
  EXPECT_EQ(c.post(kKeyPath, quoted(attestation_hex(501, 0))).status, 200);
}

TEST(Pisignerctl, HwmImportOfAMalformedFileChangesNothing) {
  TempDir dir("ctl-import-bad");
  const std::string store = (dir.path() / "store").string();
  std::filesystem::create_directories(dir.path() / "octez");
  std::ofstream(dir.path() / "octez" / "block_high_watermarks") << R"({"NetXxkAx4woPLyu": {"tz1nope": {"level": "x"}}})";
  auto [rc, out] = run_command({pisignerctl_path(), "hwm", "--store", store, "import-octez",
                                (dir.path() / "octez").string(), "--yes"});
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("block_high_watermarks"), std::string::npos) << out;
  auto [rc2, out2] = run_command({pisignerctl_path(), "hwm", "--store", store, "show", "--json"});
  EXPECT_EQ(rc2, 0) << out2;
  EXPECT_EQ(json::parse(out2).size(), 0u);
}
