// Storage faults under the real pisignerd, on file systems the test makes in a private mount
// namespace (root only; skipped otherwise): a full disk (a 1 MiB tmpfs) and an ext4 file system
// that hits an error and goes read-only (errors=remount-ro, the SD card's failure mode). Each time:
// refusals with a clear error, /authorized red within one health interval, no signature whose
// watermark was not persisted, and recovery: at once when space comes back, after fsck and a
// restart for the read-only file system. EIO on write and on fsync come from an LD_PRELOAD shim
// (support/io_fault_preload.c) under the unchanged daemon, toggled while it runs (no root needed).
#include <gtest/gtest.h>

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstring>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include "pisigner/hwm/store.hpp"
#include "support/daemon.hpp"

using namespace pisigner;
using namespace pisigner::testing;
using namespace std::chrono_literals;

namespace {

const std::string kKeyPath = std::string("/keys/") + kBootstrap1Pkh;
constexpr auto kHealthInterval = 200ms;  // basic_config's [health] interval_ms

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// A private mount namespace for this test process and the daemons it starts.
bool private_mounts(std::string& why) {
  if (::geteuid() != 0) {
    why = "needs root (mounts a small file system)";
    return false;
  }
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    why = std::string("no private mount namespace: ") + std::strerror(errno);
    return false;
  }
  return true;
}

std::chrono::milliseconds until_authorized(HttpClient& c, int status, std::chrono::milliseconds limit = 5s) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < limit) {
    if (c.get("/authorized").status == status) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    }
    std::this_thread::sleep_for(10ms);
  }
  return std::chrono::milliseconds::max();
}

// Signs rising attestations until one is refused; returns the levels answered, the refusal in `refusal`.
std::vector<int> sign_until_refused(HttpClient& c, int& level, HttpResult& refusal, int max_tries = 400) {
  std::vector<int> answered;
  for (int i = 0; i < max_tries; ++i, ++level) {
    auto r = c.post(kKeyPath, quoted(attestation_hex(level, 0)));
    if (r.status != 200) {
      refusal = r;
      return answered;
    }
    answered.push_back(level);
  }
  return answered;
}

// Every level answered lies at or below the attestation watermark the store holds.
void expect_persisted(const std::filesystem::path& store_dir, const std::vector<int>& answered) {
  hwm::SqliteOptions o;
  o.exclusive = false;
  o.create = false;
  o.read_only = true;
  auto store = hwm::open_sqlite_store(store_dir, o);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto list = (*store)->list();
  ASSERT_TRUE(list.ok());
  int stored = 0;
  for (const auto& [k, r] : *list) {
    if (k.kind == tezos::Kind::Attestation) stored = std::max(stored, r.level);
  }
  for (int level : answered) EXPECT_LE(level, stored) << "attestation " << level << " answered but not persisted";
}

// Unmounts (lazily) at scope end, before the TempDir holding the mount point goes.
struct Unmount {
  std::filesystem::path at;
  ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
};

void fill(const std::filesystem::path& file) {
  std::ofstream out(file, std::ios::binary);
  const std::vector<char> block(64 * 1024, 'x');
  while (out.write(block.data(), static_cast<std::streamsize>(block.size()))) out.flush();
}

}  // namespace

TEST(StorageFault, DiskFullRefusesTurnsRedAndRecoversWithoutRestart) {
  std::string why;
  if (!private_mounts(why)) GTEST_SKIP() << why;
  TempDir dir("disk-full");
  const auto mnt = dir.path() / "data";
  std::filesystem::create_directories(mnt);
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m,mode=0700"), 0) << std::strerror(errno);
  Unmount unmount{mnt};
  Daemon d(dir.path(), basic_config(mnt));  // store in data/store; config and log outside it
  auto c = d.client();
  ASSERT_LT(until_authorized(c, 200), 5s) << d.log();
  int level = 1;
  ASSERT_EQ(c.post(kKeyPath, quoted(attestation_hex(level++, 0))).status, 200);

  fill(mnt / "filler");
  HttpResult refusal;
  std::vector<int> answered = sign_until_refused(c, level, refusal);
  ASSERT_NE(refusal.status, 0) << "a full disk never refused a signature";
  EXPECT_NE(refusal.status, 200);
  EXPECT_NE(refusal.body.find("full"), std::string::npos) << refusal.body;
  EXPECT_LE(until_authorized(c, 503, 2s), kHealthInterval + 800ms) << "not red within one health interval";
  EXPECT_NE(c.get("/authorized").body.find("full"), std::string::npos) << c.get("/authorized").body;
  EXPECT_NE(c.post(kKeyPath, quoted(attestation_hex(level, 0))).status, 200) << "signed on a full disk";

  std::filesystem::remove(mnt / "filler");  // space comes back: no restart needed
  EXPECT_LT(until_authorized(c, 200, 3s), 3s) << c.get("/authorized").body;
  auto after = c.post(kKeyPath, quoted(attestation_hex(++level, 0)));
  EXPECT_EQ(after.status, 200) << after.body;
  answered.push_back(level);
  d.kill9();
  expect_persisted(mnt / "store", answered);
  std::printf("disk full: %zu signatures before the first refusal: %s\n", answered.size() - 1, refusal.body.c_str());
}

TEST(StorageFault, FilesystemErrorGoesReadOnlyRefusesAndKeepsEveryWatermark) {
  std::string why;
  if (!private_mounts(why)) GTEST_SKIP() << why;
  TempDir dir("fs-error");
  const auto image = dir.path() / "ext4.img", mnt = dir.path() / "data";
  std::filesystem::create_directories(mnt);
  { std::ofstream(image).close(); }
  std::filesystem::resize_file(image, 8 << 20);
  if (!std::filesystem::exists("/usr/sbin/mkfs.ext4")) GTEST_SKIP() << "no mkfs.ext4 (e2fsprogs)";
  auto [mk, mk_out] = run_command({"/usr/sbin/mkfs.ext4", "-q", "-F", image.string()});
  if (mk != 0) GTEST_SKIP() << "no mkfs.ext4: " << mk_out;
  auto mount_it = [&] {
    return run_command({"/usr/bin/mount", "-o", "loop,errors=remount-ro", image.string(), mnt.string()});
  };
  auto [mr, mount_out] = mount_it();
  if (mr != 0) GTEST_SKIP() << "cannot loop-mount ext4: " << mount_out;
  Unmount unmount{mnt};
  auto [fr, dev] = run_command({"/usr/bin/findmnt", "-no", "SOURCE", mnt.string()});
  ASSERT_EQ(fr, 0) << dev;
  const std::string trigger = "/sys/fs/ext4/" + std::filesystem::path(dev.substr(0, dev.find('\n'))).filename().string() +
                              "/trigger_fs_error";
  if (!std::filesystem::exists(trigger)) GTEST_SKIP() << "no " << trigger;
  const std::string cfg = basic_config(mnt);
  std::vector<int> answered;
  int level = 1;
  {
    Daemon d(dir.path(), cfg);
    auto c = d.client();
    ASSERT_LT(until_authorized(c, 200), 5s) << d.log();
    ASSERT_EQ(c.post(kKeyPath, quoted(attestation_hex(level, 0))).status, 200);
    answered.push_back(level++);
    { std::ofstream(trigger) << "1\n"; }  // ext4_error(): the journal aborts, the fs goes read-only
    HttpResult refusal;
    auto more = sign_until_refused(c, level, refusal, 50);
    answered.insert(answered.end(), more.begin(), more.end());
    ASSERT_NE(refusal.status, 0) << "a read-only file system never refused a signature";
    EXPECT_NE(refusal.status, 200);
    EXPECT_NE(refusal.body.find("cannot store watermark"), std::string::npos) << refusal.body;
    EXPECT_LE(until_authorized(c, 503, 2s), kHealthInterval + 800ms) << "not red within one health interval";
    EXPECT_NE(c.post(kKeyPath, quoted(attestation_hex(level, 0))).status, 200);
    std::printf("read-only file system: refusal %s\n", refusal.body.c_str());
    d.kill9();
  }
  // The operator's repair: unmount, fsck, mount, restart. Every answered level is still refused.
  ASSERT_EQ(run_command({"/usr/bin/umount", mnt.string()}).first, 0);
  auto [fk, fsck_out] = run_command({"/usr/sbin/e2fsck", "-fy", image.string()});
  EXPECT_LE(fk, 1) << fsck_out;  // 1: errors corrected
  ASSERT_EQ(mount_it().first, 0);
  expect_persisted(mnt / "store", answered);
  {
    Daemon d(dir.path(), cfg);
    auto c = d.client();
    ASSERT_LT(until_authorized(c, 200), 5s) << d.log();
    EXPECT_NE(c.post(kKeyPath, quoted(attestation_hex(answered.back(), 0, 3))).status, 200);
    EXPECT_EQ(c.post(kKeyPath, quoted(attestation_hex(level + 1, 0))).status, 200);
  }
}

// EIO on every write, or on every fsync, of the store's files while the daemon runs, then cleared.
class IoFault : public ::testing::TestWithParam<const char*> {};

TEST_P(IoFault, RefusesTurnsRedAndRecoversWithoutRestart) {
  const std::string op = GetParam();
  TempDir dir(std::string("eio-") + op);
  const auto control = dir.path() / "io-fault";
  { std::ofstream(control).close(); }
  ::setenv("LD_PRELOAD", PISIGNER_IO_FAULT_PRELOAD, 1);
  const char* asan = std::getenv("ASAN_OPTIONS");  // a sanitizer build's runtime wants to be first
  ::setenv("ASAN_OPTIONS", (std::string(asan != nullptr ? asan : "") + ":verify_asan_link_order=0").c_str(), 1);
  ::setenv("PISIGNER_IO_FAULT_CONTROL", control.c_str(), 1);
  ::setenv("PISIGNER_IO_FAULT_UNDER", (dir.path() / "store").c_str(), 1);
  Daemon d(dir.path(), basic_config(dir.path()));
  ::unsetenv("LD_PRELOAD");  // only the daemon (and its store's init) run with the shim
  auto c = d.client();
  ASSERT_LT(until_authorized(c, 200), 5s) << d.log();
  int level = 1;
  std::vector<int> answered;
  ASSERT_EQ(c.post(kKeyPath, quoted(attestation_hex(level, 0))).status, 200);
  answered.push_back(level++);

  { std::ofstream(control) << op << "\n"; }
  auto refused = c.post(kKeyPath, quoted(attestation_hex(level, 0)));
  EXPECT_NE(refused.status, 200) << "signed although the watermark's " << op << " failed";
  EXPECT_NE(refused.body.find("cannot store watermark"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find(op + " failed"), std::string::npos) << refused.body;
  EXPECT_LE(until_authorized(c, 503, 2s), kHealthInterval + 800ms) << "not red within one health interval";
  EXPECT_NE(c.post(kKeyPath, quoted(attestation_hex(level, 0))).status, 200);

  { std::ofstream(control).close(); }  // the disk answers again: no restart
  EXPECT_LT(until_authorized(c, 200, 3s), 3s) << c.get("/authorized").body;
  auto after = c.post(kKeyPath, quoted(attestation_hex(++level, 0)));
  EXPECT_EQ(after.status, 200) << after.body;
  if (after.status == 200) answered.push_back(level);
  d.kill9();
  expect_persisted(dir.path() / "store", answered);
  std::printf("EIO on %s: refusal %s\n", op.c_str(), refused.body.c_str());
}

INSTANTIATE_TEST_SUITE_P(StorageFault, IoFault, ::testing::Values("write", "fsync"),
                         [](const auto& info) { return std::string(info.param); });
