// pisignerctl as a baker uses it over SSH: status against the running daemon, and the HWM tools.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "pisigner/hwm/store.hpp"
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
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 80u) << line;
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
  ASSERT_EQ(run_command({pisignerctl_path(), "hwm", "init", "--store", store}).first, 0);
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

namespace {

// The command lines of README.md's pisignerctl block, each optional group included and each
// alternative ("a | b") taken once, with placeholders replaced by `values`.
std::vector<std::vector<std::string>> readme_command_lines(const std::map<std::string, std::string>& values) {
  std::ifstream in(PISIGNER_SOURCE_DIR "/README.md");
  std::vector<std::string> block;
  bool in_section = false, in_block = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## pisignerctl";
    if (!in_section) continue;
    if (line.rfind("```", 0) == 0) {
      if (in_block) break;
      in_block = true;
      continue;
    }
    if (in_block && line.rfind("pisignerctl ", 0) == 0) block.push_back(line.substr(0, line.find(" #")));
  }
  std::vector<std::string> texts;
  for (const auto& line : block) {
    // Top-level "a | b": b replaces the last word before the bar.
    std::vector<std::string> parts;
    int depth = 0;
    std::string cur;
    for (std::size_t i = 0; i < line.size(); ++i) {
      depth += line[i] == '[' ? 1 : line[i] == ']' ? -1 : 0;
      if (depth == 0 && line.compare(i, 3, " | ") == 0) {
        parts.push_back(cur);
        cur.clear();
        i += 2;
      } else {
        cur += line[i];
      }
    }
    parts.push_back(cur);
    texts.push_back(parts[0]);
    for (std::size_t i = 1; i < parts.size(); ++i) texts.push_back(parts[0].substr(0, parts[0].rfind(' ') + 1) + parts[i]);
  }
  // "[x | y]" groups: one command per alternative; "[x]": included.
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto open = texts[i].find('[');
    if (open == std::string::npos) continue;
    const auto close = texts[i].find(']', open);
    const std::string group = texts[i].substr(open + 1, close - open - 1);
    const auto bar = group.find(" | ");
    const std::string head = texts[i].substr(0, open), tail = texts[i].substr(close + 1);
    if (bar != std::string::npos) texts.push_back(head + group.substr(bar + 3) + tail);
    texts[i] = head + group.substr(0, bar) + tail;
    --i;  // the same line again, for its next group
  }
  std::vector<std::vector<std::string>> out;
  for (const auto& text : texts) {
    std::istringstream words(text);
    std::vector<std::string> argv;
    for (std::string w; words >> w;) argv.push_back(values.count(w) ? values.at(w) : w);
    argv[0] = pisignerctl_path();
    out.push_back(argv);
  }
  return out;
}

}  // namespace

// Every command line README.md shows parses, with options where the README puts them.
TEST(Pisignerctl, EveryReadmeCommandLineParses) {
  TempDir dir("ctl-readme");
  Daemon d(dir.path(), basic_config(dir.path()));
  std::filesystem::create_directories(dir.path() / "octez");
  const std::map<std::string, std::string> values{
      {"http://127.0.0.1:6732", "http://127.0.0.1:" + std::to_string(d.port())},
      {"http://127.0.0.1:6733", "http://127.0.0.1:" + std::to_string(d.admin_port())},
      {"DIR", (dir.path() / "store").string()},
      {"FILE", (dir.path() / "pisigner.toml").string()},
      {"NetX…", "NetXxkAx4woPLyu"},
      {"tz1…", kBootstrap1Pkh},
      {"N", "5"},
      {"R", "0"},
      {"~/.tezos-signer", (dir.path() / "octez").string()}};
  const auto commands = readme_command_lines(values);
  ASSERT_GE(commands.size(), 12u);
  for (const auto& argv : commands) {
    std::string line;
    for (std::size_t i = 1; i < argv.size(); ++i) line += argv[i] + " ";
    auto [rc, out] = run_command(argv);
    // Parse errors are CLI11's (exit 100+, "Run with --help"); below are the commands' own outcomes
    // (a running daemon holds the store, no Ledger is configured, no /etc/pisigner here: 78, ...).
    EXPECT_LT(rc, 100) << line << "\n" << out;
    EXPECT_EQ(out.find("--help"), std::string::npos) << line << "\n" << out;
    EXPECT_EQ(out.find("not expected"), std::string::npos) << line << "\n" << out;
  }
  // Some of them for real: hwm show with the options after the subcommand, status in 80 columns.
  auto [rc, out] = run_command({pisignerctl_path(), "hwm", "show", "--store", (dir.path() / "store").string(), "--json"});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(json::parse(out), json::array());
}

// What a baker reads over SSH on an 80-column terminal, with a Ledger key (long check name, long
// detail): no line passes 80 columns and no column runs into the next.
TEST(Pisignerctl, StatusFitsEightyColumnsWithALedgerKey) {
  TempDir dir("ctl-80");
  const std::string ledger_pkh = "tz1dyX3B1CFYa2DfdFLyPtiJCfQRUgPVME6E";
  Daemon d(dir.path(), basic_config(dir.path(), "[[key]]\nbackend = \"ledger\"\ndevice = \"tcp://127.0.0.1:1\"\n"
                                                "path = \"m/44'/1729'/0'/0'\"\npkh = \"" + ledger_pkh + "\"\n"));
  auto c = d.client();
  ASSERT_EQ(c.post(kKeyPath, quoted(attestation_hex(42, 3))).status, 200);
  auto [rc, out] = run_command({pisignerctl_path(), "status", "--url", "http://127.0.0.1:" + std::to_string(d.port())});
  EXPECT_EQ(rc, 1) << out;  // the Ledger is absent: not authorized
  std::istringstream lines(out);
  bool saw_ledger_check = false;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 80u) << line;
    if (line.rfind("  ledger " + ledger_pkh, 0) == 0) {
      saw_ledger_check = true;
      std::istringstream cols(line.substr(2));
      std::string word, pkh, required;
      cols >> word >> pkh >> required;
      EXPECT_EQ(pkh, ledger_pkh) << line;
      EXPECT_EQ(required, "yes") << line;
    }
  }
  EXPECT_TRUE(saw_ledger_check) << out;
  EXPECT_NE(out.find("NetXxkAx4woPLyu"), std::string::npos) << out;
}

// Files in `dir` not owned by uid:gid `id` (each one reported).
static int owned_by_others(const std::string& dir, uid_t id) {
  int others = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    struct stat st {};
    if (::stat(e.path().c_str(), &st) != 0 || st.st_uid != id || st.st_gid != id) {
      ADD_FAILURE() << e.path() << " owned by " << st.st_uid << ":" << st.st_gid;
      ++others;
    }
  }
  return others;
}

// Root running `pisignerctl hwm ...` must not leave root-owned files in the store: pisignerd runs as
// the directory's owner and could no longer open its own database, WAL or lock file.
TEST(Pisignerctl, HwmCommandsRunAsRootLeaveNoRootOwnedFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  constexpr uid_t kNobody = 65534;
  TempDir dir("ctl-root");
  std::filesystem::permissions(dir.path(), std::filesystem::perms::others_exec, std::filesystem::perm_options::add);
  const auto parent = dir.path() / "data";
  std::filesystem::create_directories(parent);
  ASSERT_EQ(::chown(parent.c_str(), kNobody, kNobody), 0);
  const std::string store = (parent / "store").string();  // new: created as its parent's owner
  auto [rc, out] = run_command({pisignerctl_path(), "hwm", "init", "--store", store});
  ASSERT_EQ(rc, 0) << out;
  auto [rc2, out2] = run_command({pisignerctl_path(), "hwm", "set", "--store", store, "--kind", "attestation", "--chain",
                                  "NetXxkAx4woPLyu", "--pkh", kBootstrap1Pkh, "--level", "9", "--yes"});
  EXPECT_EQ(rc2, 0) << out2;
  auto [rc3, out3] = run_command({pisignerctl_path(), "hwm", "show", "--store", store, "--json"});
  EXPECT_EQ(rc3, 0) << out3;
  EXPECT_EQ(json::parse(out3)[0]["level"], 9) << out3;
  struct stat st {};
  ASSERT_EQ(::stat(store.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kNobody);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(store)) {
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kNobody) << e.path();
    ++files;
  }
  EXPECT_GE(files, 2);  // hwm.sqlite, hwm.lock (and WAL files)

  // A daemon (uid 65534) that died with its store open leaves -wal and -shm behind; root's
  // read-only show and exclusive import-octez use them and must leave them, and all else, its own.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(2);
    auto s = pisigner::hwm::open_sqlite_store(store);
    if (!s) ::_exit(3);
    pisigner::hwm::HwmKey key;
    key.kind = pisigner::tezos::Kind::Block;
    key.chain = *pisigner::tezos::ChainId::parse("NetXxkAx4woPLyu");
    key.pkh = *pisigner::tezos::PublicKeyHash::parse(kBootstrap1Pkh);
    if (!(*s)->put_durable(key, pisigner::hwm::Record{5, 0, {}, std::nullopt})) ::_exit(4);
    ::_exit(0);  // no close: the WAL is not checkpointed away
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_TRUE(std::filesystem::exists(store + "/hwm.sqlite-wal"));
  auto [rc4, out4] = run_command({pisignerctl_path(), "hwm", "show", "--store", store, "--json"});
  EXPECT_EQ(rc4, 0) << out4;
  EXPECT_NE(out4.find("\"block\""), std::string::npos) << out4;
  ASSERT_TRUE(std::filesystem::exists(store + "/hwm.sqlite-shm"));
  EXPECT_EQ(owned_by_others(store, kNobody), 0);  // -wal and -shm included
  std::filesystem::create_directories(dir.path() / "octez");
  std::ofstream(dir.path() / "octez" / "block_high_watermarks")
      << R"({"NetXxkAx4woPLyu":{")" << kBootstrap1Pkh
      << R"(":{"level":77,"round":0,"hash":"0000000000000000000000000000000000000000000000000000000000000000"}}})";
  auto [rc5, out5] = run_command(
      {pisignerctl_path(), "hwm", "--store", store, "import-octez", (dir.path() / "octez").string(), "--yes"});
  EXPECT_EQ(rc5, 0) << out5;
  EXPECT_EQ(owned_by_others(store, kNobody), 0);
}
