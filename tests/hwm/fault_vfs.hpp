// A SQLite VFS for crash and fault tests, wrapping the default (unix) VFS (LevelDB's
// fault_injection_test model). It keeps, per file, a shadow copy of the content as of its last
// xSync; crash() writes the shadows back, dropping every unsynced write, truncation, creation and
// unsynced delete. It can also make the Nth xWrite/xSync fail.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "pisigner/hwm/store.hpp"

namespace pisigner::hwm::testing {

class FaultVfs {
 public:
  static constexpr const char* kName = "pisigner-fault";

  // Registers the VFS once (not as the default) and returns the process-wide instance.
  static FaultVfs& instance();

  // Forgets all shadows and counters. Files opened afterwards start "synced" with their on-disk
  // content (the test set them up durably). Call with no connection open through this VFS.
  void reset();

  // The Nth xWrite-or-xSync from now (1-based) fails with SQLITE_IOERR and has no effect on disk;
  // 0 disables. Later operations succeed again.
  void fail_nth_op(std::uint64_t n);
  std::uint64_t ops_seen() const;    // xWrite + xSync calls since reset()
  std::uint64_t syncs_seen() const;  // successful xSync calls since reset()
  bool fault_fired() const;

  // While held, every xSync waits before doing anything (a slow disk the test controls);
  // syncs_waiting() says how many are waiting. Release with hold_syncs(false).
  void hold_syncs(bool hold);
  int syncs_waiting() const;

  // From now on every write, sync, truncate and delete fails without touching the disk, like a dead
  // process. Then close the store (its shutdown writes are lost) and call crash().
  void kill();
  // Power cut in the middle of I/O: the Nth xWrite-or-xSync from now fails and the VFS is dead from
  // then on (as kill()).
  void kill_at_op(std::uint64_t n);
  // Restores every file seen by the VFS to its last synced content (or removes it) and revives the VFS.
  // With a seed, each file independently either loses its unsynced changes or keeps all of them (the
  // kernel may have written them back anyway), which also exercises WAL frames that were not synced.
  void crash(std::optional<std::uint32_t> seed = std::nullopt);
  // As crash(), then tears the last page written since each file's last sync: only its first
  // 512-byte sectors (1 .. all but one, chosen by `seed`) reach the disk, over the synced content.
  // Returns how many files were torn.
  int crash_torn(std::uint32_t seed);

  // Skip the real fsync (the shadows still model it): power-cut sweeps run thousands of trials.
  void set_real_sync(bool real);

  // Where the last kill_at_op() cut landed: the file (database = a checkpoint in WAL mode, "wal"),
  // the operation ("write"/"sync") and the phase the test had set with set_phase().
  struct Cut {
    std::string file, op, phase;
  };
  void set_phase(std::string phase);
  std::optional<Cut> last_cut() const;

  struct Impl;

 private:
  FaultVfs() = default;
};

// Opens <dir>'s store through the fault VFS, over a database created durably beforehand with the
// real one (so the crash tests start from a synced state). Null, with a test failure, if it cannot.
std::unique_ptr<Store> open_faulty(const std::filesystem::path& dir);

}  // namespace pisigner::hwm::testing
