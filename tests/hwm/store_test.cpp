// Store semantics (both backends) and the SQLite store's durability and refusal cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <fstream>
#include <functional>

#include "pisigner/hwm/store.hpp"
#include "test_util.hpp"

namespace pisigner::hwm {
namespace {

using ::testing::HasSubstr;
using testing::digest;
using testing::make_key;
using testing::TempDir;
namespace fs = std::filesystem;

std::unique_ptr<Store> open_ok(const fs::path& dir, SqliteOptions options = {}) {
  auto store = open_sqlite_store(dir, options);
  EXPECT_TRUE(store.ok()) << store.error().message;
  return store.ok() ? std::move(*store) : nullptr;
}

StoreError open_err(const fs::path& dir, SqliteOptions options = {}) {
  auto store = open_sqlite_store(dir, options);
  EXPECT_FALSE(store.ok()) << "opened although it should not";
  return store.ok() ? StoreError{} : store.error();
}

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

// Runs raw SQL on the database behind the store's back (the test plays the attacker or bit rot).
void raw_sql(const fs::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string message = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

// ---- Both backends ----

class StoreContract : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { store_ = GetParam() ? open_ok(dir_.path()) : make_memory_store(); }
  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContract, PutDurableReplacesAndGetReads) {
  ASSERT_TRUE(store_);
  const HwmKey key = make_key();
  EXPECT_FALSE(store_->get(key)->has_value());
  ASSERT_TRUE(store_->put_durable(key, Record{5, 1, digest(1), std::nullopt}).ok());
  ASSERT_TRUE(store_->put_durable(key, Record{6, 0, digest(2), std::nullopt}).ok());
  EXPECT_EQ(store_->get(key)->value(), (Record{6, 0, digest(2), std::nullopt}));
}

TEST_P(StoreContract, KindsChainsAndKeysAreIndependent) {
  ASSERT_TRUE(store_);
  const HwmKey block = make_key(tezos::Kind::Block);
  const HwmKey attestation = make_key(tezos::Kind::Attestation);
  const HwmKey other_pkh = make_key(tezos::Kind::Block, 2);
  const HwmKey other_chain = make_key(tezos::Kind::Block, 1, tezos::ChainId{{1, 2, 3, 4}});
  ASSERT_TRUE(store_->put_durable(block, Record{10, 0, digest(1), "s1"}).ok());
  ASSERT_TRUE(store_->put_durable(attestation, Record{3, 1, digest(2), std::nullopt}).ok());
  ASSERT_TRUE(store_->put_durable(other_chain, Record{1, std::nullopt, digest(3), std::nullopt}).ok());
  EXPECT_EQ(store_->get(block)->value().level, 10);
  EXPECT_EQ(store_->get(attestation)->value().level, 3);
  EXPECT_FALSE(store_->get(other_pkh)->has_value());
  EXPECT_EQ(store_->get(other_chain)->value().round, std::nullopt);
  EXPECT_EQ(store_->list()->size(), 3u);
}

TEST_P(StoreContract, PutSignatureAttachesOnlyToTheSameSlot) {
  ASSERT_TRUE(store_);
  const HwmKey key = make_key();
  ASSERT_TRUE(store_->put_durable(key, Record{5, 1, digest(1), std::nullopt}).ok());
  EXPECT_FALSE(store_->put_signature(key, Record{5, 2, digest(1), "edsigX"}).ok());
  EXPECT_FALSE(store_->put_signature(key, Record{5, 1, digest(9), "edsigX"}).ok());
  EXPECT_FALSE(store_->put_signature(make_key(tezos::Kind::Block), Record{5, 1, digest(1), "edsigX"}).ok());
  ASSERT_TRUE(store_->put_signature(key, Record{5, 1, digest(1), "edsigX"}).ok());
  EXPECT_EQ(store_->get(key)->value().signature, "edsigX");
}

TEST_P(StoreContract, ProbeDoesNotTouchRecords) {
  ASSERT_TRUE(store_);
  const HwmKey key = make_key();
  ASSERT_TRUE(store_->put_durable(key, Record{5, 1, digest(1), "s"}).ok());
  ASSERT_TRUE(store_->probe_writable().ok());
  EXPECT_EQ(store_->list()->size(), 1u);
  EXPECT_EQ(store_->get(key)->value(), (Record{5, 1, digest(1), "s"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Sqlite" : "Memory"; });

// ---- SQLite durability ----

TEST(SqliteStoreTest, RecordsAndSignaturesSurviveReopen) {
  TempDir dir;
  const HwmKey a = make_key(tezos::Kind::Attestation), b = make_key(tezos::Kind::Endorsement, 7);
  {
    auto store = open_ok(dir.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put_durable(a, Record{100, 2, digest(1), std::nullopt}).ok());
    ASSERT_TRUE(store->put_signature(a, Record{100, 2, digest(1), "edsigAAA"}).ok());
    ASSERT_TRUE(store->put_durable(b, Record{42, std::nullopt, digest(2), std::nullopt}).ok());
  }
  auto store = open_ok(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->get(a)->value(), (Record{100, 2, digest(1), "edsigAAA"}));
  EXPECT_EQ(store->get(b)->value(), (Record{42, std::nullopt, digest(2), std::nullopt}));
}

TEST(SqliteStoreTest, CreatesWalDatabaseWithSchemaVersion) {
  TempDir dir;
  { ASSERT_TRUE(open_ok(dir / "nested" / "hwm")); }
  const fs::path db_path = dir / "nested" / "hwm" / kDatabaseFile;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(s, 0), kSchemaVersion);
  sqlite3_finalize(s);
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "wal");
  sqlite3_finalize(s);
  sqlite3_close(db);
  EXPECT_FALSE(fs::exists(dir / "nested" / "hwm" / "hwm.sqlite.new"));
}

TEST(SqliteStoreTest, SecondOpenerIsLockedOut) {
  TempDir dir;
  auto first = open_ok(dir.path());
  ASSERT_TRUE(first);
  const StoreError err = open_err(dir.path());
  EXPECT_EQ(err.code, StoreError::Code::Locked);
  EXPECT_EQ(err.message,
            "HWM store " + dir.path().string() + " is in use by another process (is pisignerd running?)");
  first.reset();
  EXPECT_TRUE(open_ok(dir.path()));  // the lock dies with the store
}

TEST(SqliteStoreTest, ReadOnlyOpenSeesTheDaemonsRecordsAndCannotWrite) {
  TempDir dir;
  auto daemon = open_ok(dir.path());
  ASSERT_TRUE(daemon);
  const HwmKey key = make_key();
  ASSERT_TRUE(daemon->put_durable(key, Record{9, 1, digest(1), std::nullopt}).ok());
  SqliteOptions options;
  options.read_only = true;
  auto viewer = open_ok(dir.path(), options);
  ASSERT_TRUE(viewer);
  EXPECT_EQ(viewer->get(key)->value().level, 9);
  auto put = viewer->put_durable(key, Record{1, 0, digest(2), std::nullopt});
  ASSERT_FALSE(put.ok());
  EXPECT_THAT(put.error().message, HasSubstr("read-only"));
  EXPECT_EQ(daemon->get(key)->value().level, 9);
  // The daemon is not disturbed by the reader.
  EXPECT_TRUE(daemon->put_durable(key, Record{10, 0, digest(3), std::nullopt}).ok());
}

TEST(SqliteStoreTest, ReadOnlyOpenNeverCreates) {
  TempDir dir;
  SqliteOptions options;
  options.read_only = true;
  const StoreError err = open_err(dir / "absent", options);
  EXPECT_FALSE(fs::exists(dir / "absent"));
  EXPECT_THAT(err.message, HasSubstr("absent"));
}

TEST(SqliteStoreTest, MissingDatabaseWithoutCreateIsAnError) {
  TempDir dir;
  SqliteOptions options;
  options.create = false;
  const StoreError err = open_err(dir.path(), options);
  EXPECT_THAT(err.message, HasSubstr((dir / kDatabaseFile).string()));
  EXPECT_THAT(err.message, HasSubstr("does not exist"));
}

// ---- Refusals: never an empty store in place of a damaged one ----

TEST(SqliteStoreTest, GarbageFileIsRefused) {
  TempDir dir;
  write_file(dir / kDatabaseFile, std::string(8192, 'x'));
  const StoreError err = open_err(dir.path());
  EXPECT_EQ(err.code, StoreError::Code::Corrupt);
  EXPECT_THAT(err.message, HasSubstr((dir / kDatabaseFile).string()));
  EXPECT_THAT(err.message, HasSubstr("not an SQLite database"));
}

TEST(SqliteStoreTest, EmptyFileIsRefused) {
  TempDir dir;
  write_file(dir / kDatabaseFile, "");
  const StoreError err = open_err(dir.path());
  EXPECT_EQ(err.code, StoreError::Code::Corrupt);
  EXPECT_THAT(err.message, HasSubstr("empty"));
}

TEST(SqliteStoreTest, DatabaseGoneButWalPresentIsRefused) {
  TempDir dir;
  write_file(dir / "hwm.sqlite-wal", std::string(4096, '\1'));
  const StoreError err = open_err(dir.path());
  EXPECT_EQ(err.code, StoreError::Code::Corrupt);
  EXPECT_FALSE(fs::exists(dir / kDatabaseFile));
}

// Fills a store with enough rows to span several pages, closes it cleanly (WAL checkpointed).
void populate(const fs::path& dir, int n) {
  auto store = open_ok(dir);
  ASSERT_TRUE(store);
  for (int i = 0; i < n; ++i) {
    const HwmKey key = make_key(tezos::Kind::Attestation, static_cast<std::uint8_t>(i));
    ASSERT_TRUE(store->put_durable(key, Record{1000 + i, 0, digest(i), std::string(90, 'e')}).ok());
  }
}

TEST(SqliteStoreTest, TruncatedFileIsRefused) {
  for (std::uintmax_t keep : {std::uintmax_t{100}, std::uintmax_t{4096}, std::uintmax_t{3 * 4096 + 17}}) {
    SCOPED_TRACE("truncated to " + std::to_string(keep));
    TempDir dir;
    populate(dir.path(), 200);
    const fs::path db_path = dir / kDatabaseFile;
    ASSERT_GT(fs::file_size(db_path), keep + 4096);
    fs::resize_file(db_path, keep);
    const StoreError err = open_err(dir.path());
    EXPECT_EQ(err.code, StoreError::Code::Corrupt) << err.message;
    EXPECT_THAT(err.message, HasSubstr(db_path.string()));
  }
}

TEST(SqliteStoreTest, FlippedBytesInsideAPageAreRefused) {
  TempDir dir;
  populate(dir.path(), 200);
  const fs::path db_path = dir / kDatabaseFile;
  {
    std::fstream f(db_path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2 * 4096 + 8);  // a b-tree page header
    const std::string junk(64, '\xff');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  const StoreError err = open_err(dir.path());
  EXPECT_EQ(err.code, StoreError::Code::Corrupt) << err.message;
}

TEST(SqliteStoreTest, SchemaVersionMismatchIsRefused) {
  TempDir dir;
  populate(dir.path(), 1);
  raw_sql(dir / kDatabaseFile, "PRAGMA user_version=7");
  const StoreError err = open_err(dir.path());
  EXPECT_EQ(err.code, StoreError::Code::Invalid);
  EXPECT_THAT(err.message, HasSubstr("schema version 7"));
}

TEST(SqliteStoreTest, ForeignDatabaseIsRefused) {
  TempDir dir;
  raw_sql(dir / kDatabaseFile, "CREATE TABLE t(x); INSERT INTO t VALUES(1);");
  const StoreError err = open_err(dir.path());
  EXPECT_EQ(err.code, StoreError::Code::Invalid);
  EXPECT_THAT(err.message, HasSubstr("schema version 0"));
}

TEST(SqliteStoreTest, RightVersionWrongTablesIsRefused) {
  TempDir dir;
  raw_sql(dir / kDatabaseFile, "CREATE TABLE t(x); PRAGMA user_version=1;");
  const StoreError err = open_err(dir.path());
  EXPECT_EQ(err.code, StoreError::Code::Invalid);
  EXPECT_THAT(err.message, HasSubstr("watermarks"));
}

TEST(SqliteStoreTest, UnparseableRowIsRefusedNamingIt) {
  TempDir dir;
  populate(dir.path(), 1);
  raw_sql(dir / kDatabaseFile, "UPDATE watermarks SET pkh = 'tz1nonsense'");
  const StoreError err = open_err(dir.path());
  EXPECT_EQ(err.code, StoreError::Code::Corrupt);
  EXPECT_THAT(err.message, HasSubstr("tz1nonsense"));
}

TEST(SqliteStoreTest, ShortHashIsRefused) {
  TempDir dir;
  populate(dir.path(), 1);
  raw_sql(dir / kDatabaseFile, "UPDATE watermarks SET hash = x'0102'");
  const StoreError err = open_err(dir.path());
  EXPECT_EQ(err.code, StoreError::Code::Corrupt);
  EXPECT_THAT(err.message, HasSubstr("hash"));
}

// Runs `fn` as an unprivileged user in a child process when we are root (root ignores directory
// permissions), returning the error message it produced, or "" if the open succeeded.
std::string run_unprivileged(const std::function<std::string()>& fn) {
  if (::geteuid() != 0) return fn();
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    const std::string out = fn();
    const ssize_t n = ::write(fds[1], out.data(), out.size());
    ::_exit(n == static_cast<ssize_t>(out.size()) ? 0 : 3);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "child failed";
  return out;
}

std::string try_open(const fs::path& dir, bool exclusive) {
  SqliteOptions options;
  options.exclusive = exclusive;
  auto store = open_sqlite_store(dir, options);
  return store.ok() ? std::string() : store.error().message;
}

TEST(SqliteStoreTest, ReadOnlyDirectoryIsAnErrorNotAnEmptyStore) {
  TempDir dir;
  const fs::path store_dir = dir / "hwm";
  fs::create_directories(store_dir);
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
  fs::permissions(store_dir, fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec |
                                 fs::perms::group_read | fs::perms::group_exec);
  if (::geteuid() != 0) fs::permissions(store_dir, fs::perms::owner_read | fs::perms::owner_exec);

  const std::string fresh = run_unprivileged([&] { return try_open(store_dir, true); });
  EXPECT_THAT(fresh, HasSubstr(store_dir.string()));
  EXPECT_THAT(fresh, HasSubstr("ermission denied"));
  const std::string fresh_shared = run_unprivileged([&] { return try_open(store_dir, false); });
  EXPECT_THAT(fresh_shared, HasSubstr(store_dir.string()));
  EXPECT_FALSE(fs::exists(store_dir / kDatabaseFile));
}

TEST(SqliteStoreTest, ExistingDatabaseInReadOnlyDirectoryIsAnError) {
  TempDir dir;
  const fs::path store_dir = dir / "hwm";
  populate(store_dir, 3);
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
  // Files writable by anyone, only the directory refuses new files (the -wal cannot be created).
  for (const char* name : {kDatabaseFile, kLockFile}) fs::permissions(store_dir / name, fs::perms::all);
  fs::permissions(store_dir, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read |
                                 fs::perms::others_exec | fs::perms::group_read | fs::perms::group_exec);
  const std::string err = run_unprivileged([&] { return try_open(store_dir, true); });
  EXPECT_THAT(err, HasSubstr((store_dir / kDatabaseFile).string()));
}

}  // namespace
}  // namespace pisigner::hwm
