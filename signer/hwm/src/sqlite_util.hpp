// RAII handles and error wording for the SQLite store (one pattern for every C handle).
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>

#include "pisigner/hwm/store.hpp"
#include "pisigner/result.hpp"

namespace pisigner::hwm::detail {

struct DbDeleter {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbDeleter>;

struct StmtDeleter {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

// Resets a statement and clears its bindings when the scope ends, so a cached statement never holds
// a read transaction open or stale parameters.
class StmtReset {
 public:
  explicit StmtReset(sqlite3_stmt* s) : s_(s) {}
  ~StmtReset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  StmtReset(const StmtReset&) = delete;
  StmtReset& operator=(const StmtReset&) = delete;

 private:
  sqlite3_stmt* s_;
};

// Corrupt for SQLITE_CORRUPT/NOTADB, Io otherwise.
StoreError::Code code_for(int rc);
// "HWM store <path>: <what>: <sqlite message> [(<errno text>)]", with a plain-words hint for disk
// full, read-only and permission errors.
StoreError sqlite_error(const std::filesystem::path& path, sqlite3* db, int rc, const std::string& what);
// The same from a failure captured earlier (the handle's message and errno at the failing step).
StoreError sqlite_error(const std::filesystem::path& path, int rc, const std::string& sqlite_message, int sys_errno,
                        const std::string& what);
StoreError store_error(StoreError::Code code, const std::filesystem::path& path, const std::string& cause);

// Runs a statement without results (or discards them).
Result<void, StoreError> exec(sqlite3* db, const std::filesystem::path& path, const char* sql);
// Runs a single-row, single-column query (PRAGMA ...) and returns the text of the first column.
Result<std::string, StoreError> query_text(sqlite3* db, const std::filesystem::path& path, const char* sql);
Result<StmtPtr, StoreError> prepare(sqlite3* db, const std::filesystem::path& path, const char* sql);

}  // namespace pisigner::hwm::detail
