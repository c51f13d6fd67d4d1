#include "fs_util.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "sqlite_util.hpp"

namespace pisigner::hwm::detail {

std::string errno_text(int err) { return std::strerror(err); }

Result<DirLock, StoreError> DirLock::acquire(const std::filesystem::path& dir) {
  const auto path = dir / kLockFile;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    return fail(store_error(StoreError::Code::Io, path, "cannot open lock file: " + errno_text(err)));
  }
  DirLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      return fail(StoreError{StoreError::Code::Locked, "HWM store " + dir.string() +
                                                           " is in use by another process (is pisignerd running?)"});
    }
    return fail(store_error(StoreError::Code::Io, path, "cannot lock: " + errno_text(err)));
  }
  return lock;
}

DirLock::DirLock(DirLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

DirLock& DirLock::operator=(DirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

Result<void, StoreError> fsync_path(const std::filesystem::path& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return fail(store_error(StoreError::Code::Io, path, "cannot open for fsync: " + errno_text(err)));
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return fail(store_error(StoreError::Code::Io, path, "fsync failed: " + errno_text(err)));
  return {};
}

}  // namespace pisigner::hwm::detail
