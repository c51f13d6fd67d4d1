#include "fault_vfs.hpp"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>

namespace pisigner::hwm::testing {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct State {
  std::mutex mu;
  // Path -> content as of the last sync; nullopt = the file does not exist durably.
  std::map<std::string, std::optional<std::string>> shadows;
  std::uint64_t ops = 0;
  std::uint64_t syncs = 0;
  std::uint64_t fail_at = 0;
  std::uint64_t kill_at = 0;
  bool fired = false;
  bool dead = false;
  bool hold = false;
  bool real_sync = true;
  std::string phase;
  std::optional<FaultVfs::Cut> cut;
  // Path -> the last write since the file's last sync (offset, bytes): the page a power cut tears.
  std::map<std::string, std::pair<sqlite3_int64, std::string>> last_write;
  int waiting = 0;
  std::condition_variable released;

  // Records the durable state of a file the first time the VFS sees it.
  void track(const std::string& path, bool existed_before) {
    if (shadows.count(path) != 0) return;
    shadows[path] = existed_before ? read_whole(path) : std::nullopt;
  }
  // True if this write/sync must fail (the injected fault, or a dead process).
  bool should_fail(const std::string& path, const char* op) {
    if (dead) return true;
    ++ops;
    if (kill_at != 0 && ops == kill_at) {
      dead = true;
      const bool wal = path.size() > 4 && path.compare(path.size() - 4, 4, "-wal") == 0;
      cut = FaultVfs::Cut{wal ? "wal" : "database", op, phase};
      return true;
    }
    if (fail_at != 0 && ops == fail_at) {
      fired = true;
      return true;
    }
    return false;
  }
};

State& state() {
  static State* s = new State();  // never destroyed: SQLite may call in during static teardown
  return *s;
}

sqlite3_vfs* g_real = nullptr;

struct File {
  sqlite3_file base;
  std::string* path;  // owned; deleted in xClose
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
File* as_file(sqlite3_file* f) { return reinterpret_cast<File*>(f); }

int x_close(sqlite3_file* f) {
  File* file = as_file(f);
  const int rc = file->real()->pMethods->xClose(file->real());
  delete file->path;
  file->path = nullptr;
  return rc;
}
int x_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return as_file(f)->real()->pMethods->xRead(as_file(f)->real(), buf, n, off);
}
int x_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  {
    std::lock_guard lock(state().mu);
    if (state().should_fail(*as_file(f)->path, "write")) return SQLITE_IOERR_WRITE;
    state().last_write[*as_file(f)->path] = {off, std::string(static_cast<const char*>(buf), static_cast<std::size_t>(n))};
  }
  return as_file(f)->real()->pMethods->xWrite(as_file(f)->real(), buf, n, off);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  {
    std::lock_guard lock(state().mu);
    if (state().dead) return SQLITE_IOERR_TRUNCATE;
  }
  return as_file(f)->real()->pMethods->xTruncate(as_file(f)->real(), size);
}
int x_sync(sqlite3_file* f, int flags) {
  File* file = as_file(f);
  std::unique_lock lock(state().mu);
  if (state().hold) {
    ++state().waiting;
    state().released.wait(lock, [] { return !state().hold; });
    --state().waiting;
  }
  if (state().should_fail(*file->path, "sync")) return SQLITE_IOERR_FSYNC;
  const int rc = state().real_sync ? file->real()->pMethods->xSync(file->real(), flags) : SQLITE_OK;
  if (rc == SQLITE_OK) {
    ++state().syncs;
    state().shadows[*file->path] = read_whole(*file->path);
    state().last_write.erase(*file->path);
  }
  return rc;
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return as_file(f)->real()->pMethods->xFileSize(as_file(f)->real(), size);
}
int x_lock(sqlite3_file* f, int level) { return as_file(f)->real()->pMethods->xLock(as_file(f)->real(), level); }
int x_unlock(sqlite3_file* f, int level) { return as_file(f)->real()->pMethods->xUnlock(as_file(f)->real(), level); }
int x_check_reserved(sqlite3_file* f, int* out) {
  return as_file(f)->real()->pMethods->xCheckReservedLock(as_file(f)->real(), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  return as_file(f)->real()->pMethods->xFileControl(as_file(f)->real(), op, arg);
}
int x_sector_size(sqlite3_file* f) { return as_file(f)->real()->pMethods->xSectorSize(as_file(f)->real()); }
int x_device_characteristics(sqlite3_file* f) {
  return as_file(f)->real()->pMethods->xDeviceCharacteristics(as_file(f)->real());
}
// The -shm wal-index is shared memory that SQLite rebuilds from the WAL when the first connection
// opens, so it needs no crash model: pass it through.
int x_shm_map(sqlite3_file* f, int pg, int pgsz, int extend, void volatile** pp) {
  return as_file(f)->real()->pMethods->xShmMap(as_file(f)->real(), pg, pgsz, extend, pp);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return as_file(f)->real()->pMethods->xShmLock(as_file(f)->real(), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) { as_file(f)->real()->pMethods->xShmBarrier(as_file(f)->real()); }
int x_shm_unmap(sqlite3_file* f, int del) { return as_file(f)->real()->pMethods->xShmUnmap(as_file(f)->real(), del); }
int x_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** pp) {
  return as_file(f)->real()->pMethods->xFetch(as_file(f)->real(), off, n, pp);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return as_file(f)->real()->pMethods->xUnfetch(as_file(f)->real(), off, p);
}

const sqlite3_io_methods kMethods = {
    3,         x_close,           x_read,         x_write,     x_truncate,    x_sync,
    x_file_size, x_lock,          x_unlock,       x_check_reserved, x_file_control, x_sector_size,
    x_device_characteristics, x_shm_map, x_shm_lock, x_shm_barrier, x_shm_unmap, x_fetch,
    x_unfetch,
};

int v_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  File* file = as_file(f);
  file->base.pMethods = nullptr;
  file->path = nullptr;
  const bool existed = name != nullptr && fs::exists(name);
  const int rc = g_real->xOpen(g_real, name, file->real(), flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  file->path = new std::string(name != nullptr ? name : "");
  if (name != nullptr) {
    std::lock_guard lock(state().mu);
    state().track(name, existed);
  }
  file->base.pMethods = &kMethods;
  return SQLITE_OK;
}
int v_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  std::lock_guard lock(state().mu);
  if (state().dead) return SQLITE_IOERR_DELETE;
  state().track(name, fs::exists(name));
  const int rc = g_real->xDelete(g_real, name, sync_dir);
  // Only a delete followed by a directory sync survives a crash.
  if (rc == SQLITE_OK && sync_dir != 0) state().shadows[name] = std::nullopt;
  return rc;
}
int v_access(sqlite3_vfs*, const char* name, int flags, int* out) { return g_real->xAccess(g_real, name, flags, out); }
int v_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_real->xFullPathname(g_real, name, n, out);
}
void* v_dl_open(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void v_dl_error(sqlite3_vfs*, int n, char* msg) { g_real->xDlError(g_real, n, msg); }
void (*v_dl_sym(sqlite3_vfs*, void* h, const char* sym))(void) { return g_real->xDlSym(g_real, h, sym); }
void v_dl_close(sqlite3_vfs*, void* h) { g_real->xDlClose(g_real, h); }
int v_randomness(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int v_sleep(sqlite3_vfs*, int us) { return g_real->xSleep(g_real, us); }
int v_current_time(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int v_get_last_error(sqlite3_vfs*, int n, char* out) { return g_real->xGetLastError(g_real, n, out); }
int v_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) { return g_real->xCurrentTimeInt64(g_real, out); }

}  // namespace

FaultVfs& FaultVfs::instance() {
  static FaultVfs* vfs = [] {
    g_real = sqlite3_vfs_find(nullptr);
    if (g_real == nullptr) throw std::runtime_error("no default SQLite VFS");
    static sqlite3_vfs wrapper{};
    wrapper.iVersion = 2;
    wrapper.szOsFile = static_cast<int>(sizeof(File)) + g_real->szOsFile;
    wrapper.mxPathname = g_real->mxPathname;
    wrapper.zName = kName;
    wrapper.xOpen = v_open;
    wrapper.xDelete = v_delete;
    wrapper.xAccess = v_access;
    wrapper.xFullPathname = v_full_pathname;
    wrapper.xDlOpen = v_dl_open;
    wrapper.xDlError = v_dl_error;
    wrapper.xDlSym = v_dl_sym;
    wrapper.xDlClose = v_dl_close;
    wrapper.xRandomness = v_randomness;
    wrapper.xSleep = v_sleep;
    wrapper.xCurrentTime = v_current_time;
    wrapper.xGetLastError = v_get_last_error;
    wrapper.xCurrentTimeInt64 = v_current_time_int64;
    if (sqlite3_vfs_register(&wrapper, 0) != SQLITE_OK) throw std::runtime_error("cannot register fault VFS");
    return new FaultVfs();
  }();
  return *vfs;
}

void FaultVfs::reset() {
  std::lock_guard lock(state().mu);
  state().shadows.clear();
  state().ops = 0;
  state().syncs = 0;
  state().fail_at = 0;
  state().kill_at = 0;
  state().fired = false;
  state().dead = false;
  state().hold = false;
  state().real_sync = true;
  state().phase.clear();
  state().cut.reset();
  state().last_write.clear();
  state().released.notify_all();
}

void FaultVfs::fail_nth_op(std::uint64_t n) {
  std::lock_guard lock(state().mu);
  state().fail_at = n == 0 ? 0 : state().ops + n;
  state().fired = false;
}

std::uint64_t FaultVfs::ops_seen() const {
  std::lock_guard lock(state().mu);
  return state().ops;
}

void FaultVfs::hold_syncs(bool hold) {
  std::lock_guard lock(state().mu);
  state().hold = hold;
  if (!hold) state().released.notify_all();
}

int FaultVfs::syncs_waiting() const {
  std::lock_guard lock(state().mu);
  return state().waiting;
}

std::uint64_t FaultVfs::syncs_seen() const {
  std::lock_guard lock(state().mu);
  return state().syncs;
}

bool FaultVfs::fault_fired() const {
  std::lock_guard lock(state().mu);
  return state().fired;
}

void FaultVfs::kill_at_op(std::uint64_t n) {
  std::lock_guard lock(state().mu);
  state().kill_at = n == 0 ? 0 : state().ops + n;
  state().cut.reset();
}

void FaultVfs::kill() {
  std::lock_guard lock(state().mu);
  state().dead = true;
}

void FaultVfs::crash(std::optional<std::uint32_t> seed) {
  std::lock_guard lock(state().mu);
  std::mt19937 rng(seed.value_or(0));
  for (const auto& [path, content] : state().shadows) {
    if (seed && rng() % 2 == 0) continue;  // this file's unsynced changes happened to reach the disk
    std::error_code ec;
    if (!content) {
      fs::remove(path, ec);
      continue;
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content->data(), static_cast<std::streamsize>(content->size()));
  }
  state().shadows.clear();
  state().last_write.clear();
  state().dead = false;
  state().fail_at = 0;
  state().kill_at = 0;
}

int FaultVfs::crash_torn(std::uint32_t seed) {
  std::map<std::string, std::pair<sqlite3_int64, std::string>> torn;
  {
    std::lock_guard lock(state().mu);
    torn = state().last_write;
  }
  crash();
  constexpr std::size_t kSector = 512;
  int count = 0;
  std::mt19937 rng(seed);
  for (const auto& [path, write] : torn) {
    const auto& [offset, bytes] = write;
    if (!fs::exists(path) || bytes.size() < 2) continue;  // a file that was never durable stays absent
    const std::size_t sectors = (bytes.size() + kSector - 1) / kSector;
    const std::size_t keep = sectors > 1 ? kSector * (1 + rng() % (sectors - 1)) : 1 + rng() % (bytes.size() - 1);
    std::fstream out(path, std::ios::binary | std::ios::in | std::ios::out);
    out.seekp(offset);
    out.write(bytes.data(), static_cast<std::streamsize>(keep));
    ++count;
  }
  return count;
}

void FaultVfs::set_real_sync(bool real) {
  std::lock_guard lock(state().mu);
  state().real_sync = real;
}

void FaultVfs::set_phase(std::string phase) {
  std::lock_guard lock(state().mu);
  state().phase = std::move(phase);
}

std::optional<FaultVfs::Cut> FaultVfs::last_cut() const {
  std::lock_guard lock(state().mu);
  return state().cut;
}

std::unique_ptr<Store> open_faulty(const std::filesystem::path& dir) {
  { EXPECT_TRUE(open_sqlite_store(dir).ok()); }  // create with the real VFS, clean close
  FaultVfs::instance().reset();
  SqliteOptions options;
  options.vfs = FaultVfs::kName;
  auto store = open_sqlite_store(dir, options);
  EXPECT_TRUE(store.ok()) << store.error().message;
  return store.ok() ? std::move(*store) : nullptr;
}

}  // namespace pisigner::hwm::testing
