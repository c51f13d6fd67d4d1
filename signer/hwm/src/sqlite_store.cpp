// The SQLite Store: a write-through in-memory cache over one WAL-mode connection.
#include <algorithm>
#include <condition_variable>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "fs_util.hpp"
#include "group_commit.hpp"
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
// Matches the whole slot: a signature whose record was replaced since changes nothing.
constexpr const char* kSetSignature =
    "UPDATE watermarks SET signature = ?7, updated_at = ?8"
    " WHERE kind = ?1 AND chain = ?2 AND pkh = ?3 AND level = ?4 AND round IS ?5 AND hash = ?6";
// The value must change on every probe: SQLite skips writing a row rewritten with identical bytes,
// and a commit without dirty pages touches no file.
constexpr const char* kProbe =
    "INSERT INTO meta(key, value) VALUES('probe', 1) ON CONFLICT(key) DO UPDATE SET value = value + 1";

// Group commit (group_commit.hpp): every durable write (watermarks, the probe, signatures waiting
// to be written) goes through one transaction at a time, and writers that arrive while one commits
// share the next. With several keys signing at once they share one fsync instead of queueing for
// one each.
class SqliteStore final : public Store {
 public:
  SqliteStore(fs::path dir, DirLock lock, OpenedDb opened, const Clock& clock)
      : path_(dir / kDatabaseFile), clock_(clock), lock_(std::move(lock)), db_(std::move(opened.db)),
        cache_(std::move(opened.records)) {}

  // Signatures not yet written are written now (the last ones of a clean shutdown), with a probe.
  ~SqliteStore() override {
    {
      std::lock_guard lock(mu_);
      if (pending_signatures_.empty() || !db_ || group_.leading()) return;
    }
    (void)submit(std::make_shared<Write>(nullptr, nullptr));
  }

  Result<void, StoreError> prepare_statements() {
    for (auto [slot, sql] : {std::pair{&upsert_, kUpsert}, std::pair{&set_signature_, kSetSignature},
                             std::pair{&probe_, kProbe}, std::pair{&begin_, "BEGIN IMMEDIATE"},
                             std::pair{&commit_, "COMMIT"}, std::pair{&rollback_, "ROLLBACK"}}) {
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
    return submit(std::make_shared<Write>(&key, &record));
  }

  Result<void, StoreError> put_signature(const HwmKey& key, const Record& record) override {
    std::lock_guard lock(mu_);
    auto it = cache_.find(key);
    if (it == cache_.end() || it->second.level != record.level || it->second.round != record.round ||
        it->second.hash != record.hash) {
      return fail(store_error(StoreError::Code::Invalid, path_,
                              "no record at " + describe(key, record) + " to attach the signature to"));
    }
    // The signature is an optimisation (idempotent retry): it rides along with the next durable
    // commit (the next watermark, or the health probe within a second) instead of paying its own.
    it->second.signature = record.signature;
    pending_signatures_[key] = it->second;
    return {};
  }

  Result<std::vector<std::pair<HwmKey, Record>>, StoreError> list() override {
    std::lock_guard lock(mu_);
    return std::vector<std::pair<HwmKey, Record>>(cache_.begin(), cache_.end());
  }

  // A probe is a write without a record: it rides along with whatever commits next.
  Result<void, StoreError> probe_writable() override { return submit(std::make_shared<Write>(nullptr, nullptr)); }

 private:
  // One writer's place in the queue.
  struct Write : GroupEntry {
    Write(const HwmKey* k, const Record* r) : key(k), record(r) {}
    const HwmKey* key;     // null for a probe
    const Record* record;  // null for a probe
    Result<void, StoreError> result;
  };
  using Batch = GroupCommit<Write>::Batch;

  Result<void, StoreError> submit(std::shared_ptr<Write> w) {
    std::unique_lock lock(mu_);
    group_.submit(lock, w, [this](std::unique_lock<std::mutex>& held, GroupCommit<Write>::Queue& queue) {
      return commit(held, queue);
    });
    return std::move(w->result);
  }

  // The leader, `lock` held on entry and exit: everything queued and the pending signatures in one
  // transaction, written without holding mu_; each write's result published.
  Batch commit(std::unique_lock<std::mutex>& lock, GroupCommit<Write>::Queue& queue) {
    Batch batch(std::make_move_iterator(queue.begin()), std::make_move_iterator(queue.end()));
    queue.clear();
    auto signatures = std::exchange(pending_signatures_, {});
    lock.unlock();
    Failure failure = write_transaction(batch, signatures);
    lock.lock();
    if (failure) {
      // Nothing of this transaction is on disk; its signatures wait for the next one. merge() keeps
      // a signature put meanwhile for the same key (the newer).
      pending_signatures_.merge(signatures);
    }
    for (const auto& w : batch) {
      if (failure) {
        w->result = fail(sqlite_failure(*failure, w->key ? "cannot store watermark " + describe(*w->key, *w->record)
                                                         : std::string("write probe failed")));
      } else if (w->key) {
        cache_[*w->key] = *w->record;  // only what SQLite committed
      }
    }
    return batch;
  }

  struct FailedStep {
    int rc;
    std::string sqlite_message;
    int sys_errno;
  };
  using Failure = std::optional<FailedStep>;

  // Leader only (no mu_): one BEGIN IMMEDIATE ... COMMIT, rolled back on any failure.
  Failure write_transaction(const Batch& batch, const std::map<HwmKey, Record>& signatures) {
    // A signature whose key gets a new record in this batch would be overwritten at once.
    std::vector<const std::pair<const HwmKey, Record>*> sigs;
    for (const auto& entry : signatures) {
      const bool replaced =
          std::any_of(batch.begin(), batch.end(), [&](const auto& w) { return w->key && *w->key == entry.first; });
      if (!replaced) sigs.push_back(&entry);
    }
    std::vector<const Write*> records;
    for (const auto& w : batch) {
      if (w->key) records.push_back(w.get());
    }
    const bool probe = records.size() < batch.size();  // one probe statement for all probes queued
    // One statement commits on its own (the common case: one baker key signing in turn).
    const bool explicit_tx = sigs.size() + records.size() + (probe ? 1 : 0) > 1;
    if (explicit_tx) {
      if (auto f = step(begin_.get())) return f;
    }
    Failure failure;
    for (std::size_t i = 0; !failure && i < sigs.size(); ++i) {
      failure = step(bind_slot(set_signature_.get(), sigs[i]->first, sigs[i]->second));
    }
    for (std::size_t i = 0; !failure && i < records.size(); ++i) {
      failure = step(bind_slot(upsert_.get(), *records[i]->key, *records[i]->record));
    }
    if (!failure && probe) failure = step(probe_.get());
    if (!failure && explicit_tx) failure = step(commit_.get());
    if (failure && !sqlite3_get_autocommit(db_.get())) (void)step(rollback_.get());
    return failure;
  }

  // Runs a statement without results and resets it; the failure as it stood at that step.
  Failure step(sqlite3_stmt* s) {
    StmtReset reset(s);
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::nullopt;
    return FailedStep{rc, sqlite3_errmsg(db_.get()), sqlite3_system_errno(db_.get())};
  }

  // kUpsert and kSetSignature share their parameter numbers: ?1-?3 key, ?4 level, ?5 round,
  // ?6 hash, ?7 signature, ?8 updated_at.
  sqlite3_stmt* bind_slot(sqlite3_stmt* s, const HwmKey& key, const Record& r) {
    bind_key(s, key);
    sqlite3_bind_int64(s, 4, r.level);
    bind_round(s, 5, r.round);
    sqlite3_bind_blob(s, 6, r.hash.data(), static_cast<int>(r.hash.size()), SQLITE_TRANSIENT);
    bind_signature(s, 7, r.signature);
    sqlite3_bind_int64(s, 8, clock_.unix_seconds());
    return s;
  }

  // The handle's message was captured at the failing step: a rollback since may have replaced it.
  StoreError sqlite_failure(const FailedStep& f, const std::string& what) const {
    return sqlite_error(path_, f.rc, f.sqlite_message, f.sys_errno, what);
  }

  // Leader only. The text forms are base58 encodings: computed once per key, not per write.
  void bind_key(sqlite3_stmt* s, const HwmKey& key) {
    auto it = texts_.find(key);
    if (it == texts_.end()) it = texts_.emplace(key, to_text(key)).first;
    const KeyText& text = it->second;
    sqlite3_bind_text(s, 1, text.kind.c_str(), static_cast<int>(text.kind.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, 2, text.chain.c_str(), static_cast<int>(text.chain.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, 3, text.pkh.c_str(), static_cast<int>(text.pkh.size()), SQLITE_STATIC);
  }
  static void bind_round(sqlite3_stmt* s, int index, const std::optional<std::int32_t>& round) {
    if (round) sqlite3_bind_int64(s, index, *round);
    else sqlite3_bind_null(s, index);
  }
  static void bind_signature(sqlite3_stmt* s, int index, const std::optional<std::string>& sig) {
    if (sig) sqlite3_bind_text(s, index, sig->c_str(), static_cast<int>(sig->size()), SQLITE_TRANSIENT);
    else sqlite3_bind_null(s, index);
  }

  // Constant after construction.
  const fs::path path_;
  const Clock& clock_;
  DirLock lock_;  // declared before db_: released only after the connection is closed

  // Used only by the group commit's leader: the connection, its statements, the key texts.
  DbPtr db_;
  StmtPtr upsert_, set_signature_, probe_, begin_, commit_, rollback_;  // finalized before db_ closes
  std::map<HwmKey, KeyText> texts_;

  // Protected by mu_.
  std::mutex mu_;
  std::map<HwmKey, Record> cache_;
  GroupCommit<Write> group_;                          // writes waiting for the next transaction
  std::map<HwmKey, Record> pending_signatures_;       // in cache_, not yet written
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
