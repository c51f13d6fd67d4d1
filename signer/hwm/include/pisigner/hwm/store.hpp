// The high-watermark store: one record per (kind, chain id, pkh).
// Durability contract: put_durable() returns only after the record is on stable storage (fsync);
// put_signature() may be lost in a crash (a lost signature only costs an identical re-sign).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pisigner/clock.hpp"
#include "pisigner/crypto/hash.hpp"
#include "pisigner/result.hpp"
#include "pisigner/tezos/keys.hpp"
#include "pisigner/tezos/watermark.hpp"

namespace pisigner::hwm {

struct HwmKey {
  tezos::Kind kind = tezos::Kind::Block;
  tezos::ChainId chain;
  tezos::PublicKeyHash pkh;
  auto operator<=>(const HwmKey&) const = default;
};

struct Record {
  std::int32_t level = 0;
  std::optional<std::int32_t> round;     // absent for legacy kinds and octez imports without round
  crypto::Digest32 hash{};               // BLAKE2b-256 of the whole signed payload
  std::optional<std::string> signature;  // base58 signature once signed
  bool operator==(const Record&) const = default;
};

struct StoreError {
  enum class Code { Io, Corrupt, Locked, Invalid };
  Code code = Code::Io;
  std::string message;  // names the file and the cause
};

// Thread-safe. Implementations: SQLite (WAL, synchronous=FULL), in-memory (tests).
class Store {
 public:
  virtual ~Store() = default;
  virtual Result<std::optional<Record>, StoreError> get(const HwmKey& key) = 0;
  // Replaces the record and fsyncs before returning. Concurrent calls may share one fsync.
  virtual Result<void, StoreError> put_durable(const HwmKey& key, const Record& record) = 0;
  // Attaches the signature to the record at the same (level, round, hash). Not written at once: it
  // goes to disk with the next durable commit (put_durable, probe_writable) or on destruction.
  virtual Result<void, StoreError> put_signature(const HwmKey& key, const Record& record) = 0;
  virtual Result<std::vector<std::pair<HwmKey, Record>>, StoreError> list() = 0;
  // Proves the store still accepts durable writes (health check); does not touch records.
  virtual Result<void, StoreError> probe_writable() = 0;
};

struct SqliteOptions {
  // Take an exclusive advisory lock on the directory so only one writer (the daemon) runs.
  bool exclusive = true;
  bool create = true;  // create the directory/database if missing
  // Inspection while the daemon runs (pisignerctl hwm list/export): no lock, no create, no write
  // probe; every put fails; get()/list() show the records as of open. Needs an existing database.
  bool read_only = false;
  // SQLite VFS to open the database with; empty = the default (unix). Tests pass a fault-injecting one.
  std::string vfs;
  // WAL pages after which a commit checkpoints (SQLite's wal_autocheckpoint); 0 = SQLite's default
  // (1000). Tests set a few pages so that power cuts land inside checkpoints.
  int wal_autocheckpoint = 0;
  // Source of `updated_at`; nullptr = real_clock(). Must outlive the store.
  const Clock* clock = nullptr;
};

// Opens <dir>/hwm.sqlite (WAL, synchronous=FULL) and loads every record into memory, so get() and
// list() never touch SQLite. A corrupt, truncated, foreign or unreadable database, a wrong schema
// version or a directory that cannot be written is an error naming the path and the cause, never an
// empty store. With `exclusive`, holds flock(<dir>/hwm.lock) until the store is destroyed; a second
// opener gets Code::Locked. A new database is built under a temporary name and renamed into place
// (file and directory fsynced), so hwm.sqlite either does not exist or carries the schema.
Result<std::unique_ptr<Store>, StoreError> open_sqlite_store(const std::filesystem::path& dir,
                                                             SqliteOptions options = {});
// Same semantics as the SQLite store, no I/O (tests, dry runs).
std::unique_ptr<Store> make_memory_store();

// File names inside the store directory.
inline constexpr const char* kDatabaseFile = "hwm.sqlite";
inline constexpr const char* kLockFile = "hwm.lock";
inline constexpr int kSchemaVersion = 1;  // PRAGMA user_version of a pisigner HWM database

}  // namespace pisigner::hwm
