#include "sqlite_open.hpp"

#include <limits>
#include <system_error>

#include "fs_util.hpp"
#include "key_text.hpp"

namespace pisigner::hwm::detail {
namespace fs = std::filesystem;
namespace {

constexpr const char* kSchema =
    "CREATE TABLE watermarks("
    " kind TEXT NOT NULL, chain TEXT NOT NULL, pkh TEXT NOT NULL,"
    " level INTEGER NOT NULL, round INTEGER NULL, hash BLOB NOT NULL, signature TEXT NULL,"
    " updated_at INTEGER NOT NULL,"
    " PRIMARY KEY(kind, chain, pkh));"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER);";

const char* vfs_name(const SqliteOptions& o) { return o.vfs.empty() ? nullptr : o.vfs.c_str(); }

Result<DbPtr, StoreError> open_handle(const fs::path& path, const SqliteOptions& o, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, vfs_name(o));
  DbPtr db(raw);
  if (rc != SQLITE_OK) return fail(sqlite_error(path, db.get(), rc, "cannot open"));
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

// Builds the schema under a temporary name and renames it into place (file and directory fsynced),
// so a crash leaves either no hwm.sqlite or a complete one, never an empty database that would pass
// for "nothing signed yet".
Result<void, StoreError> create_fresh(const fs::path& dir, const fs::path& db_path, const SqliteOptions& o) {
  const fs::path tmp = dir / (std::string(kDatabaseFile) + ".new");
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::remove(fs::path(tmp.string() + "-journal"), ec);
  {
    auto db = open_handle(tmp, o, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (!db) return fail(std::move(db).error());
    for (const char* sql : {"PRAGMA journal_mode=DELETE", "PRAGMA synchronous=FULL"}) {
      if (auto r = query_text(db->get(), tmp, sql); !r) return fail(std::move(r).error());
    }
    const std::string script = std::string("BEGIN;") + kSchema + "PRAGMA user_version=" +
                               std::to_string(kSchemaVersion) + ";COMMIT;";
    if (auto r = exec(db->get(), tmp, script.c_str()); !r) return fail(std::move(r).error());
    sqlite3* handle = db->release();
    if (const int rc = sqlite3_close(handle); rc != SQLITE_OK) {
      sqlite3_close_v2(handle);
      return fail(sqlite_error(tmp, nullptr, rc, "cannot close"));
    }
  }
  if (auto r = fsync_path(tmp, false); !r) return r;
  fs::rename(tmp, db_path, ec);
  if (ec) return fail(store_error(StoreError::Code::Io, db_path, "cannot rename " + tmp.string() + ": " + ec.message()));
  return fsync_path(dir, true);
}

Result<void, StoreError> check_schema(sqlite3* db, const fs::path& path) {
  // The first read of the file: a foreign or damaged file fails here with NOTADB/CORRUPT.
  auto version = query_text(db, path, "PRAGMA user_version");
  if (!version) return fail(std::move(version).error());
  if (*version != std::to_string(kSchemaVersion)) {
    return fail(store_error(StoreError::Code::Invalid, path,
                            "schema version " + *version + ", this pisigner reads version " +
                                std::to_string(kSchemaVersion) + " (not a pisigner HWM database, or a newer one)"));
  }
  return {};
}

Result<void, StoreError> check_integrity(sqlite3* db, const fs::path& path) {
  auto stmt = prepare(db, path, "PRAGMA integrity_check(5)");
  if (!stmt) return fail(std::move(stmt).error());
  std::string problems;
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt->get(), 0));
    const std::string line = text != nullptr ? text : "";
    if (line == "ok") return {};
    problems += (problems.empty() ? "" : "; ") + line;
  }
  if (rc != SQLITE_DONE) return fail(sqlite_error(path, db, rc, "integrity check failed"));
  return fail(store_error(StoreError::Code::Corrupt, path, "integrity check failed: " + problems));
}

Result<std::map<HwmKey, Record>, StoreError> load(sqlite3* db, const fs::path& path) {
  auto stmt = prepare(db, path, "SELECT kind, chain, pkh, level, round, hash, signature FROM watermarks");
  if (!stmt) return fail(store_error(StoreError::Code::Invalid, path, "unexpected schema: " + stmt.error().message));
  std::map<HwmKey, Record> records;
  sqlite3_stmt* s = stmt->get();
  int rc = SQLITE_OK;
  auto text = [s](int col) {
    const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
    return std::string(t != nullptr ? t : "");
  };
  auto in_int32 = [](sqlite3_int64 v) {
    return v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max();
  };
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const std::string row = "row (" + text(0) + ", " + text(1) + ", " + text(2) + ")";
    auto bad = [&](const std::string& why) { return store_error(StoreError::Code::Corrupt, path, row + ": " + why); };
    auto key = from_text(text(0), text(1), text(2));
    if (!key) return fail(bad(key.error()));
    Record rec;
    if (sqlite3_column_type(s, 3) != SQLITE_INTEGER || !in_int32(sqlite3_column_int64(s, 3))) {
      return fail(bad("level is not an int32"));
    }
    rec.level = static_cast<std::int32_t>(sqlite3_column_int64(s, 3));
    if (sqlite3_column_type(s, 4) != SQLITE_NULL) {
      if (sqlite3_column_type(s, 4) != SQLITE_INTEGER || !in_int32(sqlite3_column_int64(s, 4))) {
        return fail(bad("round is not an int32"));
      }
      rec.round = static_cast<std::int32_t>(sqlite3_column_int64(s, 4));
    }
    if (sqlite3_column_type(s, 5) != SQLITE_BLOB || sqlite3_column_bytes(s, 5) != 32) {
      return fail(bad("hash is not 32 bytes"));
    }
    const auto* hash = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, 5));
    std::copy(hash, hash + 32, rec.hash.begin());
    if (sqlite3_column_type(s, 6) != SQLITE_NULL) rec.signature = text(6);
    records.emplace(*key, std::move(rec));
  }
  if (rc != SQLITE_DONE) return fail(sqlite_error(path, db, rc, "cannot read watermarks"));
  return records;
}

}  // namespace

Result<OpenedDb, StoreError> open_database(const fs::path& dir, const SqliteOptions& options) {
  const fs::path db_path = dir / kDatabaseFile;
  std::error_code ec;
  const auto status = fs::status(db_path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return fail(store_error(StoreError::Code::Io, db_path, "cannot stat: " + ec.message()));
  }
  if (!fs::exists(status)) {
    const fs::path wal(db_path.string() + "-wal");
    if (fs::exists(wal, ec) && fs::file_size(wal, ec) > 0) {
      return fail(store_error(StoreError::Code::Corrupt, db_path,
                              "missing while " + wal.string() + " exists; refusing to start from an empty store"));
    }
    if (!options.create || options.read_only) {
      return fail(store_error(StoreError::Code::Io, db_path, "does not exist"));
    }
    if (auto r = create_fresh(dir, db_path, options); !r) return fail(std::move(r).error());
  } else if (!fs::is_regular_file(status)) {
    return fail(store_error(StoreError::Code::Invalid, db_path, "is not a regular file"));
  } else if (fs::file_size(db_path, ec) == 0 && !ec) {
    return fail(store_error(StoreError::Code::Corrupt, db_path,
                            "is empty (0 bytes); refusing to start from an empty store"));
  }

  auto db = open_handle(db_path, options, options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
  if (!db) return fail(std::move(db).error());
  sqlite3_busy_timeout(db->get(), 2000);
  if (auto r = check_schema(db->get(), db_path); !r) return fail(std::move(r).error());
  auto mode = query_text(db->get(), db_path, options.read_only ? "PRAGMA journal_mode" : "PRAGMA journal_mode=WAL");
  if (!mode) return fail(std::move(mode).error());
  if (*mode != "wal") {
    return fail(store_error(StoreError::Code::Io, db_path, "cannot switch to WAL mode (got \"" + *mode + "\")"));
  }
  if (auto r = exec(db->get(), db_path, "PRAGMA synchronous=FULL"); !r) return fail(std::move(r).error());
  if (options.wal_autocheckpoint > 0) sqlite3_wal_autocheckpoint(db->get(), options.wal_autocheckpoint);
  if (auto r = check_integrity(db->get(), db_path); !r) return fail(std::move(r).error());
  auto records = load(db->get(), db_path);
  if (!records) return fail(std::move(records).error());
  return OpenedDb{std::move(*db), std::move(*records)};
}

}  // namespace pisigner::hwm::detail
