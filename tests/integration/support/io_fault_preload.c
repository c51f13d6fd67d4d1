// LD_PRELOAD shim for storage-fault tests: makes pwrite/write or fsync/fdatasync fail with EIO on
// files under a directory, while a control file says so. pisignerd runs unchanged (its SQLite is a
// shared library, so these symbols interpose on its calls); the fault VFS of tests/hwm is test code
// the daemon cannot load.
//   PISIGNER_IO_FAULT_CONTROL=<file>  holds "write", "fsync" or nothing (no fault)
//   PISIGNER_IO_FAULT_UNDER=<dir>     only files whose path starts with it fail
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

// 1 if `op` ("write"/"fsync") must fail on `fd` now. Reads the control file on every call: slow,
// but these tests sign a few hundred times at most.
static int must_fail(int fd, const char* op) {
  const char* control = getenv("PISIGNER_IO_FAULT_CONTROL");
  const char* under = getenv("PISIGNER_IO_FAULT_UNDER");
  if (control == NULL || under == NULL) return 0;
  int saved = errno;
  char mode[16] = {0};
  FILE* f = fopen(control, "re");
  if (f != NULL) {
    if (fgets(mode, sizeof mode, f) == NULL) mode[0] = 0;
    fclose(f);
  }
  int fail = 0;
  if (strncmp(mode, op, strlen(op)) == 0) {
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n > 0) {
      path[n] = 0;
      fail = strncmp(path, under, strlen(under)) == 0;
    }
  }
  errno = saved;
  return fail;
}

typedef ssize_t (*pwrite_fn)(int, const void*, size_t, off_t);
typedef ssize_t (*write_fn)(int, const void*, size_t);
typedef int (*sync_fn)(int);

#define REAL(name, type) \
  static type real_##name; \
  if (!real_##name) real_##name = (type)dlsym(RTLD_NEXT, #name)

ssize_t pwrite64(int fd, const void* buf, size_t n, off_t off) {
  REAL(pwrite64, pwrite_fn);
  if (must_fail(fd, "write")) { errno = EIO; return -1; }
  return real_pwrite64(fd, buf, n, off);
}
ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  REAL(pwrite, pwrite_fn);
  if (must_fail(fd, "write")) { errno = EIO; return -1; }
  return real_pwrite(fd, buf, n, off);
}
ssize_t write(int fd, const void* buf, size_t n) {
  REAL(write, write_fn);
  if (fd > 2 && must_fail(fd, "write")) { errno = EIO; return -1; }
  return real_write(fd, buf, n);
}
int fsync(int fd) {
  REAL(fsync, sync_fn);
  if (must_fail(fd, "fsync")) { errno = EIO; return -1; }
  return real_fsync(fd);
}
int fdatasync(int fd) {
  REAL(fdatasync, sync_fn);
  if (must_fail(fd, "fsync")) { errno = EIO; return -1; }
  return real_fdatasync(fd);
}
