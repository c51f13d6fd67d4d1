// The SQLite Store: a write-through in-memory cache over one WAL-mode connection.
#include <map>
#include <mutex>

#include "fs_util.hpp"
#include "key_text.hpp"
#include "pisigner/hwm/store.hpp"
#include "sqlite_open.hpp"
#include "sqlite_util.hpp"

namespace pisigner::hwm {
namespace fs = std::filesystem;
using namespace detail;

namespace {

constexpr const char* kUpsert =
    "INSERT INTO watermarks(kind, chain, pkh, level, round, hash, signature, updated_at)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    " ON CONFLICT(kind, chain, pkh) DO UPDATE SET level = excluded.level, round = excluded.round,"
    " hash = excluded.hash, signature = excluded.signature, updated_at = excluded.updated_at";
constexpr const char* kSetSignature =
    "UPDATE watermarks SET signature = ?4, updated_at = ?8"
    " WHERE kind = ?1 AND chain = ?2 AND pkh = ?3 AND level = ?5 AND round IS ?6 AND hash = ?7";
// Not cached statements: PRAGMA synchronous takes effect when it is compiled, not when stepped.
constexpr const char* kSyncNormal = "PRAGMA synchronous=NORMAL";
constexpr const char* kSyncFull = "PRAGMA synchronous=FULL";
// The value must change on every probe: SQLite skips writing a row rewritten with identical bytes,
// and a commit without dirty pages touches no file.
constexpr const char* kProbe =
    "INSERT INTO meta(key, value) VALUES('probe', 1) ON CONFLICT(key) DO UPDATE SET value = value + 1";

class SqliteStore final : public Store {
 public:
  SqliteStore(fs::path dir, DirLock lock, OpenedDb opened, const Clock& clock)
      : path_(dir / kDatabaseFile), clock_(clock), lock_(std::move(lock)), db_(std::move(opened.db)),
        cache_(std::move(opened.records)) {}

  Result<void, StoreError> prepare_statements() {
    for (auto [slot, sql] :
         {std::pair{&upsert_, kUpsert}, std::pair{&set_signature_, kSetSignature}, std::pair{&probe_, kProbe}}) {
      auto stmt = prepare(db_.get(), path_, sql);
      if (!stmt) return fail(std::move(stmt).error());
      *slot = std::move(*stmt);
    }
    return {};
  }

  Result<std::optional<Record>, StoreError> get(const HwmKey& key) override {
    std::lock_guard lock(mu_);
    auto it = cache_.find(key);
    if (it == cache_.end()) return std::optional<Record>{};
    return std::optional<Record>{it->second};
  }

  Result<void, StoreError> put_durable(const HwmKey& key, const Record& record) override {
    std::lock_guard lock(mu_);
    if (!full_sync_) {
      // A failed restore after put_signature left the connection at NORMAL; never commit a
      // watermark that way.
      if (auto r = exec(db_.get(), path_, kSyncFull); !r) return r;
      full_sync_ = true;
    }
    sqlite3_stmt* s = upsert_.get();
    StmtReset reset(s);
    bind_key(s, key);
    sqlite3_bind_int64(s, 4, record.level);
    bind_round(s, 5, record.round);
    sqlite3_bind_blob(s, 6, record.hash.data(), static_cast<int>(record.hash.size()), SQLITE_TRANSIENT);
    bind_signature(s, 7, record.signature);
    sqlite3_bind_int64(s, 8, clock_.unix_seconds());
    if (auto r = step_done(s, [&] { return "cannot store watermark " + describe(key, record); }); !r) return r;
    cache_[key] = record;  // only what SQLite committed
    return {};
  }

  Result<void, StoreError> put_signature(const HwmKey& key, const Record& record) override {
    std::lock_guard lock(mu_);
    auto it = cache_.find(key);
    if (it == cache_.end() || it->second.level != record.level || it->second.round != record.round ||
        it->second.hash != record.hash) {
      return fail(store_error(StoreError::Code::Invalid, path_,
                              "no record at " + describe(key, record) + " to attach the signature to"));
    }
    // The signature is an optimisation (idempotent retry), so its commit skips the fsync: in WAL mode
    // NORMAL only defers the sync, and the next FULL commit (the next watermark) makes it durable.
    if (auto r = exec(db_.get(), path_, kSyncNormal); !r) return r;
    sqlite3_stmt* s = set_signature_.get();
    Result<void, StoreError> written;
    {
      StmtReset reset(s);
      bind_key(s, key);
      bind_signature(s, 4, record.signature);
      sqlite3_bind_int64(s, 5, record.level);
      bind_round(s, 6, record.round);
      sqlite3_bind_blob(s, 7, record.hash.data(), static_cast<int>(record.hash.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(s, 8, clock_.unix_seconds());
      written = step_done(s, [&] { return "cannot store signature for " + describe(key, record); });
      if (written && sqlite3_changes(db_.get()) != 1) {
        written = fail(store_error(StoreError::Code::Corrupt, path_,
                                   "record " + describe(key, record) + " is in memory but not in the database"));
      }
    }
    if (auto r = exec(db_.get(), path_, kSyncFull); !r) {
      full_sync_ = false;
      return r;
    }
    if (!written) return written;
    it->second.signature = record.signature;
    return {};
  }

  Result<std::vector<std::pair<HwmKey, Record>>, StoreError> list() override {
    std::lock_guard lock(mu_);
    return std::vector<std::pair<HwmKey, Record>>(cache_.begin(), cache_.end());
  }

  Result<void, StoreError> probe_writable() override {
    std::lock_guard lock(mu_);
    if (!full_sync_) {
      if (auto r = exec(db_.get(), path_, kSyncFull); !r) return r;
      full_sync_ = true;
    }
    sqlite3_stmt* s = probe_.get();
    StmtReset reset(s);
    return step_done(s, [] { return "write probe failed"; });
  }

 private:
  void bind_key(sqlite3_stmt* s, const HwmKey& key) {
    const KeyText text = to_text(key);
    sqlite3_bind_text(s, 1, text.kind.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, text.chain.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, text.pkh.c_str(), -1, SQLITE_TRANSIENT);
  }
  static void bind_round(sqlite3_stmt* s, int index, const std::optional<std::int32_t>& round) {
    if (round) sqlite3_bind_int64(s, index, *round);
    else sqlite3_bind_null(s, index);
  }
  static void bind_signature(sqlite3_stmt* s, int index, const std::optional<std::string>& sig) {
    if (sig) sqlite3_bind_text(s, index, sig->c_str(), static_cast<int>(sig->size()), SQLITE_TRANSIENT);
    else sqlite3_bind_null(s, index);
  }
  // `what` builds the error text only on failure: base58-encoding keys costs on the sign path.
  template <class What>
  Result<void, StoreError> step_done(sqlite3_stmt* s, What&& what) {
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return fail(sqlite_error(path_, db_.get(), rc, std::string(what())));
    return {};
  }

  // Constant after construction.
  const fs::path path_;
  const Clock& clock_;
  DirLock lock_;  // declared before db_: released only after the connection is closed

  // Protected by mu_.
  std::mutex mu_;
  DbPtr db_;
  StmtPtr upsert_, set_signature_, probe_;  // finalized before db_ closes
  std::map<HwmKey, Record> cache_;
  bool full_sync_ = true;
};

// mkdir -p, then fsync the parent of each directory created: otherwise a power cut could make the
// whole store directory vanish and the next start would begin from an empty store.
Result<void, StoreError> create_directories_durably(const fs::path& dir) {
  std::vector<fs::path> missing;
  std::error_code ec;
  for (fs::path p = fs::absolute(dir, ec); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  fs::create_directories(dir, ec);
  if (ec) return fail(store_error(StoreError::Code::Io, dir, "cannot create directory: " + ec.message()));
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (auto r = fsync_path(it->parent_path(), true); !r) return r;
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<Store>, StoreError> open_sqlite_store(const fs::path& dir, SqliteOptions options) {
  std::error_code ec;
  if (options.read_only) {
    options.create = false;
    options.exclusive = false;
  }
  if (options.create) {
    if (auto r = create_directories_durably(dir); !r) return fail(std::move(r).error());
  } else if (!fs::is_directory(dir, ec)) {
    return fail(store_error(StoreError::Code::Io, dir, "is not a directory"));
  }
  DirLock lock;
  if (options.exclusive) {
    auto acquired = DirLock::acquire(dir);
    if (!acquired) return fail(std::move(acquired).error());
    lock = std::move(*acquired);
  }
  auto opened = open_database(dir, options);
  if (!opened) return fail(std::move(opened).error());
  auto store = std::make_unique<SqliteStore>(dir, std::move(lock), std::move(*opened),
                                             options.clock != nullptr ? *options.clock : real_clock());
  if (auto r = store->prepare_statements(); !r) return fail(std::move(r).error());
  // Fail at start, not at the first signature, when the directory or file system refuses writes.
  if (!options.read_only) {
    if (auto r = store->probe_writable(); !r) return fail(std::move(r).error());
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace pisigner::hwm
