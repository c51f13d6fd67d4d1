// Opening the HWM database: create it atomically if missing, refuse anything that is not our schema,
// check integrity and load every record.
#pragma once

#include <filesystem>
#include <map>

#include "pisigner/hwm/store.hpp"
#include "sqlite_util.hpp"

namespace pisigner::hwm::detail {

struct OpenedDb {
  DbPtr db;  // WAL, synchronous=FULL
  std::map<HwmKey, Record> records;
};

Result<OpenedDb, StoreError> open_database(const std::filesystem::path& dir, const SqliteOptions& options);

}  // namespace pisigner::hwm::detail
