#include "ctl_store.hpp"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <iostream>
#include <sys/stat.h>
#include <unistd.h>

#include "pisigner/config/config.hpp"

namespace pisigner::ctl {

namespace fs = std::filesystem;

namespace {

bool say(const std::string& what) {
  std::cerr << "pisignerctl: " << what << "\n";
  return false;
}

// Root writes as the owner of the directory (or, for `hwm init` of a new one, of its nearest
// existing parent): the database, its WAL and the lock file then stay usable by pisignerd, which
// runs as that owner.
bool act_as_owner_of(const fs::path& dir) {
  if (::geteuid() != 0) return true;
  fs::path owner_of = dir;
  struct stat st {};
  while (::stat(owner_of.c_str(), &st) != 0) {
    if (errno != ENOENT || owner_of == owner_of.parent_path() || owner_of.empty()) {
      return say(owner_of.string() + ": " + std::strerror(errno));
    }
    owner_of = owner_of.parent_path();
  }
  if (st.st_uid == 0) return true;
  const gid_t gid = st.st_gid;
  if (::setgroups(1, &gid) != 0 || ::setgid(st.st_gid) != 0 || ::setuid(st.st_uid) != 0) {
    return say("cannot switch to the owner of " + owner_of.string() + " (uid " + std::to_string(st.st_uid) + "): " +
               std::strerror(errno) + "; run as that user (runuser -u pisigner -- pisignerctl ...)");
  }
  return true;
}

bool has_store_files(const fs::path& dir) {
  std::error_code ec;
  const std::string db = (dir / hwm::kDatabaseFile).string();
  return fs::exists(db, ec) || fs::exists(db + "-wal", ec);
}

}  // namespace

std::optional<fs::path> store_dir(const Common& c) {
  if (!c.store.empty()) return fs::path(c.store);
  auto cfg = config::load_file(c.config);
  if (!cfg) {
    std::cerr << "pisignerctl: " << cfg.error().message << " (or pass --store DIR)\n";
    return std::nullopt;
  }
  const fs::path dir = cfg->store.path;
  config::wipe_secrets(*cfg);  // only store.path is needed here
  return dir;
}

std::unique_ptr<hwm::Store> open_store(const fs::path& dir, StoreAccess access) {
  if (access == StoreAccess::Create && has_store_files(dir)) {
    say(dir.string() + " already holds a high-watermark store (" + hwm::kDatabaseFile + "); nothing changed");
    return nullptr;
  }
  if (access != StoreAccess::Create && !has_store_files(dir)) {
    say("no high-watermark store in " + dir.string() + " (" + hwm::kDatabaseFile +
        " missing): mount its file system, or create an empty one with: pisignerctl hwm init --store " + dir.string());
    return nullptr;
  }
  if (!act_as_owner_of(dir)) return nullptr;
  ::umask(077);  // the store is pisignerd's alone
  hwm::SqliteOptions opts;
  opts.create = access == StoreAccess::Create;
  opts.read_only = access == StoreAccess::ReadOnly;
  opts.exclusive = access != StoreAccess::ReadOnly;
  auto store = hwm::open_sqlite_store(dir, opts);
  if (!store) {
    say(store.error().message);
    return nullptr;
  }
  return std::move(store).value();
}

}  // namespace pisigner::ctl
