// octez-signer watermark files (<base_dir>/<kind>_high_watermarks, reference/octez-signer.md §5.1):
// import into a Store, export from one, and the operator's `hwm set`.
//
// File names and the kinds they map to:
//   block_high_watermarks                                  -> block (0x01 and 0x11 share it)
//   preattestation_high_watermarks, preendorsement_...     -> preattestation (pre-v23 name)
//   attestation_high_watermarks                            -> attestation
//   endorsement_high_watermarks                            -> per record: with a round it is a
//       Tenderbake attestation (the pre-v23 name of attestation_high_watermarks); without a round
//       it is a legacy Emmy 0x02 endorsement. The singular "_high_watermark" spelling of older
//       octez versions is accepted for every name.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pisigner/hwm/store.hpp"
#include "pisigner/result.hpp"

namespace pisigner::hwm {

struct ImportError {
  std::string message;  // names the file and, when it applies, the entry ("<chain>/<pkh>")
};

// What an import did with one entry of a file.
struct ImportedEntry {
  enum class Outcome { Imported, KeptExisting };
  HwmKey key;
  Record record;                    // as read from the file
  std::optional<Record> previous;   // the store's record before the import, if any
  Outcome outcome = Outcome::Imported;
};

struct FileImport {
  std::filesystem::path file;
  std::vector<ImportedEntry> entries;
};

// The file's base name -> true if it is one of the names above.
bool is_octez_watermark_file(std::string_view file_name);

// Pure: parses one file's text. `file_name` (base name) selects the kind; `label` prefixes errors.
// Any malformed part (JSON syntax, trailing garbage, wrong type, unknown field, bad chain id, pkh,
// hash or signature, negative or out-of-range level/round) fails the whole file.
Result<std::vector<std::pair<HwmKey, Record>>, ImportError> parse_octez_watermarks(std::string_view text,
                                                                                  std::string_view file_name,
                                                                                  std::string_view label);

// Merges one file into `store`, never lowering a record: an entry replaces the stored one only if
// its level is higher, or the level is equal and both have rounds and its round is higher.
// A malformed file imports nothing. Each replacement is a put_durable().
Result<FileImport, ImportError> import_octez_file(Store& store, const std::filesystem::path& file);

// Imports every recognised file in an octez base dir (missing ones are skipped). All files are
// parsed before anything is written: one malformed file imports nothing at all.
Result<std::vector<FileImport>, ImportError> import_octez_dir(Store& store, const std::filesystem::path& base_dir);

// The store's records of `kind` in octez's layout (pretty-printed JSON), and its file name
// ("<kind>_high_watermarks"). Hashes as hex; round and signature only when present.
Result<std::string, ImportError> export_octez_watermarks(Store& store, tezos::Kind kind);
std::string octez_file_name(tezos::Kind kind);

// `pisignerctl hwm set`: replaces the record with (level, round), a zero hash and no signature —
// deliberately able to lower the watermark (the operator's decision). Durable on success.
Result<void, StoreError> set_watermark(Store& store, const HwmKey& key, std::int32_t level,
                                       std::optional<std::int32_t> round);

}  // namespace pisigner::hwm
