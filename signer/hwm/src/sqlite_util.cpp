#include "sqlite_util.hpp"

#include "fs_util.hpp"

namespace pisigner::hwm::detail {

StoreError::Code code_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StoreError::Code::Corrupt;
    default:
      return StoreError::Code::Io;
  }
}

StoreError store_error(StoreError::Code code, const std::filesystem::path& path, const std::string& cause) {
  return StoreError{code, "HWM store " + path.string() + ": " + cause};
}

StoreError sqlite_error(const std::filesystem::path& path, sqlite3* db, int rc, const std::string& what) {
  return sqlite_error(path, rc, db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc),
                      db != nullptr ? sqlite3_system_errno(db) : 0, what);
}

StoreError sqlite_error(const std::filesystem::path& path, int rc, const std::string& sqlite_message, int sys_errno,
                        const std::string& what) {
  std::string cause = what + ": ";
  switch (rc & 0xff) {
    case SQLITE_FULL: cause += "disk full: "; break;
    case SQLITE_READONLY: cause += "read-only (file system or permissions): "; break;
    case SQLITE_CANTOPEN: cause += "cannot open (missing, or permission denied): "; break;
    case SQLITE_PERM: cause += "permission denied: "; break;
    case SQLITE_CORRUPT: cause += "database is corrupt: "; break;
    case SQLITE_NOTADB: cause += "not an SQLite database: "; break;
    default: break;
  }
  switch (rc) {  // which system call failed: a write, an fsync (the SD card's usual failure), a read
    case SQLITE_IOERR_WRITE: cause += "write failed: "; break;
    case SQLITE_IOERR_FSYNC:
    case SQLITE_IOERR_DIR_FSYNC: cause += "fsync failed: "; break;
    case SQLITE_IOERR_READ:
    case SQLITE_IOERR_SHORT_READ: cause += "read failed: "; break;
    case SQLITE_IOERR_TRUNCATE: cause += "truncate failed: "; break;
    default: break;
  }
  cause += sqlite_message;
  if (sys_errno != 0) cause += " (" + errno_text(sys_errno) + ")";
  return store_error(code_for(rc), path, cause);
}

Result<StmtPtr, StoreError> prepare(sqlite3* db, const std::filesystem::path& path, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  StmtPtr stmt(raw);
  if (rc != SQLITE_OK) return fail(sqlite_error(path, db, rc, std::string("cannot prepare \"") + sql + "\""));
  return stmt;
}

Result<void, StoreError> exec(sqlite3* db, const std::filesystem::path& path, const char* sql) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return fail(sqlite_error(path, db, rc, std::string("\"") + sql + "\" failed"));
  return {};
}

Result<std::string, StoreError> query_text(sqlite3* db, const std::filesystem::path& path, const char* sql) {
  auto stmt = prepare(db, path, sql);
  if (!stmt) return fail(std::move(stmt).error());
  const int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_ROW) {
    const auto* text = sqlite3_column_text(stmt->get(), 0);
    return std::string(text != nullptr ? reinterpret_cast<const char*>(text) : "");
  }
  if (rc == SQLITE_DONE) return std::string();
  return fail(sqlite_error(path, db, rc, std::string("\"") + sql + "\" failed"));
}

}  // namespace pisigner::hwm::detail
