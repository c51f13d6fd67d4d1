#include "pisigner/hwm/octez_import.hpp"

#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "key_text.hpp"
#include "pisigner/bytes.hpp"

namespace pisigner::hwm {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// nullopt kind: the ambiguous pre-v23 "endorsement" file, resolved per record.
struct FileKind {
  std::string_view stem;
  std::optional<tezos::Kind> kind;
};
constexpr FileKind kFiles[] = {
    {"block", tezos::Kind::Block},
    {"preattestation", tezos::Kind::Preattestation},
    {"preendorsement", tezos::Kind::Preattestation},
    {"attestation", tezos::Kind::Attestation},
    {"endorsement", std::nullopt},
};

const FileKind* find_file_kind(std::string_view name) {
  for (const auto& f : kFiles) {
    for (std::string_view suffix : {"_high_watermarks", "_high_watermark"}) {
      if (name.size() == f.stem.size() + suffix.size() && name.substr(0, f.stem.size()) == f.stem &&
          name.substr(f.stem.size()) == suffix) {
        return &f;
      }
    }
  }
  return nullptr;
}

std::optional<std::int32_t> as_nonneg_int32(const json& v) {
  if (!v.is_number_integer()) return std::nullopt;
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max())) return std::nullopt;
    return static_cast<std::int32_t>(u);
  }
  const auto i = v.get<std::int64_t>();
  if (i < 0 || i > std::numeric_limits<std::int32_t>::max()) return std::nullopt;
  return static_cast<std::int32_t>(i);
}

Result<Record, std::string> parse_record(const json& v) {
  if (!v.is_object()) return fail(std::string("record is not an object"));
  Record rec;
  bool have_level = false, have_hash = false;
  for (const auto& [field, value] : v.items()) {
    if (field == "level") {
      auto level = as_nonneg_int32(value);
      if (!level) return fail(std::string("\"level\" is not a non-negative int32"));
      rec.level = *level;
      have_level = true;
    } else if (field == "round") {
      auto round = as_nonneg_int32(value);
      if (!round) return fail(std::string("\"round\" is not a non-negative int32"));
      rec.round = *round;
    } else if (field == "hash") {
      std::optional<Bytes> bytes;
      if (value.is_string()) bytes = from_hex(value.get<std::string>());
      if (!bytes || bytes->size() != rec.hash.size()) return fail(std::string("\"hash\" is not 64 hex characters"));
      std::copy(bytes->begin(), bytes->end(), rec.hash.begin());
      have_hash = true;
    } else if (field == "signature") {
      if (!value.is_string()) return fail(std::string("\"signature\" is not a string"));
      const auto text = value.get<std::string>();
      if (auto sig = tezos::Signature::parse(text); !sig) {
        return fail("\"signature\" is not a Tezos signature: " + sig.error().message);
      }
      rec.signature = text;
    } else {
      return fail("unknown field \"" + field + "\"");
    }
  }
  if (!have_level) return fail(std::string("missing \"level\""));
  if (!have_hash) return fail(std::string("missing \"hash\""));
  return rec;
}

// Would `incoming` raise `existing`? Equal or not comparable (a round on one side only, same level)
// keeps the existing record, so an import can never lower anything.
bool raises(const Record& existing, const Record& incoming) {
  if (incoming.level != existing.level) return incoming.level > existing.level;
  return incoming.round && existing.round && *incoming.round > *existing.round;
}

Result<std::string, ImportError> read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(ImportError{file.string() + ": cannot open"});
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail(ImportError{file.string() + ": read error"});
  return text.str();
}

Result<FileImport, ImportError> merge(Store& store, const fs::path& file,
                                      const std::vector<std::pair<HwmKey, Record>>& entries) {
  FileImport report{file, {}};
  for (const auto& [key, record] : entries) {
    auto existing = store.get(key);
    if (!existing) return fail(ImportError{file.string() + ": " + existing.error().message});
    ImportedEntry entry{key, record, *existing, ImportedEntry::Outcome::KeptExisting};
    if (!*existing || raises(**existing, record)) {
      if (auto put = store.put_durable(key, record); !put) {
        return fail(ImportError{file.string() + ": " + put.error().message});
      }
      entry.outcome = ImportedEntry::Outcome::Imported;
    }
    report.entries.push_back(std::move(entry));
  }
  return report;
}

}  // namespace

bool is_octez_watermark_file(std::string_view file_name) { return find_file_kind(file_name) != nullptr; }

std::string octez_file_name(tezos::Kind kind) { return std::string(tezos::kind_name(kind)) + "_high_watermarks"; }

Result<std::vector<std::pair<HwmKey, Record>>, ImportError> parse_octez_watermarks(std::string_view text,
                                                                                  std::string_view file_name,
                                                                                  std::string_view label) {
  const std::string where(label);
  const FileKind* file_kind = find_file_kind(file_name);
  if (file_kind == nullptr) {
    return fail(ImportError{where + ": not an octez watermark file name (\"" + std::string(file_name) + "\")"});
  }
  const json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail(ImportError{where + ": not valid JSON"});
  if (!doc.is_object()) return fail(ImportError{where + ": top level is not an object of chain ids"});

  std::vector<std::pair<HwmKey, Record>> out;
  for (const auto& [chain_text, marks] : doc.items()) {
    auto chain = tezos::ChainId::parse(chain_text);
    if (!chain) return fail(ImportError{where + ": bad chain id \"" + chain_text + "\": " + chain.error().message});
    if (!marks.is_object()) return fail(ImportError{where + ": " + chain_text + ": not an object of keys"});
    for (const auto& [pkh_text, value] : marks.items()) {
      const std::string entry = where + ": " + chain_text + "/" + pkh_text + ": ";
      auto pkh = tezos::PublicKeyHash::parse(pkh_text);
      if (!pkh) return fail(ImportError{entry + "bad public key hash: " + pkh.error().message});
      auto record = parse_record(value);
      if (!record) return fail(ImportError{entry + record.error()});
      HwmKey key;
      key.chain = *chain;
      key.pkh = *pkh;
      key.kind = file_kind->kind ? *file_kind->kind
                                 : (record->round ? tezos::Kind::Attestation : tezos::Kind::Endorsement);
      out.emplace_back(key, std::move(*record));
    }
  }
  return out;
}

Result<FileImport, ImportError> import_octez_file(Store& store, const fs::path& file) {
  auto text = read_file(file);
  if (!text) return fail(std::move(text).error());
  auto entries = parse_octez_watermarks(*text, file.filename().string(), file.string());
  if (!entries) return fail(std::move(entries).error());
  return merge(store, file, *entries);
}

Result<std::vector<FileImport>, ImportError> import_octez_dir(Store& store, const fs::path& base_dir) {
  std::error_code ec;
  if (!fs::is_directory(base_dir, ec)) return fail(ImportError{base_dir.string() + ": not a directory"});
  std::vector<std::pair<fs::path, std::vector<std::pair<HwmKey, Record>>>> parsed;
  for (const auto& f : kFiles) {
    for (const char* suffix : {"_high_watermark", "_high_watermarks"}) {
      const fs::path file = base_dir / (std::string(f.stem) + suffix);
      if (!fs::exists(file, ec)) continue;
      auto text = read_file(file);
      if (!text) return fail(std::move(text).error());
      auto entries = parse_octez_watermarks(*text, file.filename().string(), file.string());
      if (!entries) return fail(std::move(entries).error());
      parsed.emplace_back(file, std::move(*entries));
    }
  }
  std::vector<FileImport> reports;
  for (const auto& [file, entries] : parsed) {
    auto report = merge(store, file, entries);
    if (!report) return fail(std::move(report).error());
    reports.push_back(std::move(*report));
  }
  return reports;
}

Result<std::string, ImportError> export_octez_watermarks(Store& store, tezos::Kind kind) {
  auto all = store.list();
  if (!all) return fail(ImportError{all.error().message});
  json doc = json::object();
  for (const auto& [key, record] : *all) {
    if (key.kind != kind) continue;
    json mark = {{"level", record.level}, {"hash", to_hex(record.hash)}};
    if (record.round) mark["round"] = *record.round;
    if (record.signature) mark["signature"] = *record.signature;
    doc[key.chain.to_b58()][key.pkh.to_b58()] = std::move(mark);
  }
  return doc.dump(2) + "\n";
}

Result<void, StoreError> set_watermark(Store& store, const HwmKey& key, std::int32_t level,
                                       std::optional<std::int32_t> round) {
  return store.put_durable(key, Record{level, round, crypto::Digest32{}, std::nullopt});
}

}  // namespace pisigner::hwm
