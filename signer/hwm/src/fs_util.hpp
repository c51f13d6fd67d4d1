// File-system steps of the SQLite store: the exclusive directory lock and fsync of files/directories.
#pragma once

#include <filesystem>

#include "pisigner/hwm/store.hpp"
#include "pisigner/result.hpp"

namespace pisigner::hwm::detail {

std::string errno_text(int err);

// flock(LOCK_EX|LOCK_NB) on <dir>/hwm.lock, released when the object dies. Not copyable.
class DirLock {
 public:
  static Result<DirLock, StoreError> acquire(const std::filesystem::path& dir);
  DirLock() = default;
  DirLock(DirLock&& other) noexcept;
  DirLock& operator=(DirLock&& other) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// fsync(2) of a regular file or a directory; the error names the path.
Result<void, StoreError> fsync_path(const std::filesystem::path& path, bool directory);

}  // namespace pisigner::hwm::detail
