// Importing octez-signer watermark files, exporting them, and the operator's set.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "pisigner/hwm/octez_import.hpp"
#include "test_util.hpp"

namespace pisigner::hwm {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
namespace fs = std::filesystem;

const std::string kMainnet = "NetXdQprcVkpaWU";
const std::string kBootstrap1 = "tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx";
const std::string kHashHex = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";

std::string edsig() {
  tezos::Signature sig;
  sig.curve = crypto::Curve::Ed25519;
  sig.raw.assign(64, 0x42);
  return sig.to_b58();
}

HwmKey key_of(tezos::Kind kind, const std::string& chain = kMainnet, const std::string& pkh = kBootstrap1) {
  HwmKey key;
  key.kind = kind;
  key.chain = *tezos::ChainId::parse(chain);
  key.pkh = *tezos::PublicKeyHash::parse(pkh);
  return key;
}

std::string mark(int level, std::optional<int> round, const std::string& extra = "") {
  std::string out = R"({"level": )" + std::to_string(level);
  if (round) out += R"(, "round": )" + std::to_string(*round);
  out += R"(, "hash": ")" + kHashHex + "\"" + extra + "}";
  return out;
}

std::string file_with(const std::string& record, const std::string& chain = kMainnet,
                      const std::string& pkh = kBootstrap1) {
  return "{\n  \"" + chain + "\": {\n    \"" + pkh + "\": " + record + "\n  }\n}\n";
}

void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

crypto::Digest32 hash_bytes() {
  crypto::Digest32 h{};
  auto bytes = from_hex(kHashHex);
  std::copy(bytes->begin(), bytes->end(), h.begin());
  return h;
}

TEST(OctezImportTest, ImportsEveryFileOfABaseDir) {
  TempDir dir;
  const std::string sig = edsig();
  write(dir / "block_high_watermarks", file_with(mark(5000, 1, R"(, "signature": ")" + sig + "\"")));
  write(dir / "preattestation_high_watermarks", file_with(mark(5001, 0)));
  write(dir / "attestation_high_watermarks", file_with(mark(5002, 2)));
  write(dir / "unrelated_file", "not json");
  auto store = make_memory_store();
  auto report = import_octez_dir(*store, dir.path());
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->size(), 3u);
  EXPECT_EQ(store->get(key_of(tezos::Kind::Block))->value(), (Record{5000, 1, hash_bytes(), sig}));
  EXPECT_EQ(store->get(key_of(tezos::Kind::Preattestation))->value(), (Record{5001, 0, hash_bytes(), std::nullopt}));
  EXPECT_EQ(store->get(key_of(tezos::Kind::Attestation))->value().level, 5002);
  for (const auto& file : *report) {
    ASSERT_EQ(file.entries.size(), 1u);
    EXPECT_EQ(file.entries[0].outcome, ImportedEntry::Outcome::Imported);
  }
}

TEST(OctezImportTest, PreV23NamesMapToTenderbakeKinds) {
  TempDir dir;
  const std::string other_pkh = testing::make_key(tezos::Kind::Block, 9).pkh.to_b58();
  write(dir / "preendorsement_high_watermarks", file_with(mark(70, 1)));
  // Old "endorsement" file: a record with a round is a Tenderbake attestation, one without is Emmy.
  write(dir / "endorsement_high_watermarks",
        "{\"" + kMainnet + "\": {\"" + kBootstrap1 + "\": " + mark(71, 0) + ", \"" + other_pkh +
            "\": " + mark(12, std::nullopt) + "}}");
  auto store = make_memory_store();
  auto report = import_octez_dir(*store, dir.path());
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(store->get(key_of(tezos::Kind::Preattestation))->value().level, 70);
  EXPECT_EQ(store->get(key_of(tezos::Kind::Attestation))->value(), (Record{71, 0, hash_bytes(), std::nullopt}));
  EXPECT_EQ(store->get(key_of(tezos::Kind::Endorsement, kMainnet, other_pkh))->value(),
            (Record{12, std::nullopt, hash_bytes(), std::nullopt}));
  EXPECT_FALSE(store->get(key_of(tezos::Kind::Endorsement))->has_value());
}

TEST(OctezImportTest, NeverLowersAnExistingRecord) {
  TempDir dir;
  auto store = make_memory_store();
  const HwmKey key = key_of(tezos::Kind::Attestation);
  const Record existing{100, 3, testing::digest(1), "mine"};
  ASSERT_TRUE(store->put_durable(key, existing).ok());

  for (const auto& [record, expect_import] :
       std::vector<std::pair<std::string, bool>>{{mark(99, 9), false},
                                                 {mark(100, 2), false},
                                                 {mark(100, 3), false},
                                                 {mark(100, std::nullopt), false},
                                                 {mark(100, 4), true}}) {
    SCOPED_TRACE(record);
    write(dir / "attestation_high_watermarks", file_with(record));
    const Record before = store->get(key)->value();
    auto report = import_octez_file(*store, dir / "attestation_high_watermarks");
    ASSERT_TRUE(report.ok()) << report.error().message;
    ASSERT_EQ(report->entries.size(), 1u);
    EXPECT_EQ(report->entries[0].previous, before);
    EXPECT_EQ(report->entries[0].outcome,
              expect_import ? ImportedEntry::Outcome::Imported : ImportedEntry::Outcome::KeptExisting);
    EXPECT_EQ(store->get(key)->value(), expect_import ? (Record{100, 4, hash_bytes(), std::nullopt}) : existing);
  }
}

TEST(OctezImportTest, MalformedFilesImportNothingAndNameTheEntry) {
  const std::string entry = kMainnet + "/" + kBootstrap1;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{ \"" + kMainnet + "\": ", "not valid JSON"},
      {file_with(mark(1, 0)) + "garbage", "not valid JSON"},
      {"[1, 2]", "top level"},
      {"{\"" + kMainnet + "\": 5}", kMainnet},
      {file_with(R"({"level": "12", "hash": ")" + kHashHex + "\"}"), entry + ": \"level\""},
      {file_with(R"({"level": 12.5, "hash": ")" + kHashHex + "\"}"), entry + ": \"level\""},
      {file_with(R"({"level": -1, "hash": ")" + kHashHex + "\"}"), entry + ": \"level\""},
      {file_with(R"({"level": 4294967296, "hash": ")" + kHashHex + "\"}"), entry + ": \"level\""},
      {file_with(R"({"level": 1, "round": null, "hash": ")" + kHashHex + "\"}"), entry + ": \"round\""},
      {file_with(R"({"level": 1, "hash": "abcd"})"), entry + ": \"hash\""},
      {file_with(R"({"level": 1})"), entry + ": missing \"hash\""},
      {file_with(R"({"hash": ")" + kHashHex + "\"}"), entry + ": missing \"level\""},
      {file_with(mark(1, 0, R"(, "signature": "edsigNOPE")")), entry + ": \"signature\""},
      {file_with(mark(1, 0, R"(, "colour": "blue")")), "unknown field \"colour\""},
      {file_with(mark(1, 0), "NetXnotachain"), "bad chain id \"NetXnotachain\""},
      {file_with(mark(1, 0), kMainnet, "tz9Whatever"), "bad public key hash"},
      {file_with(mark(1, 0), kMainnet, "KT1BEqzn5Wx8uJrZNvuS9DVHmLvG9td3fDLi"), "bad public key hash"},
  };
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    TempDir dir;
    const fs::path file = dir / "block_high_watermarks";
    write(file, text);
    auto store = make_memory_store();
    auto report = import_octez_file(*store, file);
    ASSERT_FALSE(report.ok());
    EXPECT_THAT(report.error().message, HasSubstr(file.string()));
    EXPECT_THAT(report.error().message, HasSubstr(expected));
    EXPECT_TRUE(store->list()->empty());
  }
}

TEST(OctezImportTest, OneBadFileInTheDirImportsNothing) {
  TempDir dir;
  write(dir / "block_high_watermarks", file_with(mark(10, 0)));
  write(dir / "attestation_high_watermarks", file_with(R"({"level": "x", "hash": ")" + kHashHex + "\"}"));
  auto store = make_memory_store();
  auto report = import_octez_dir(*store, dir.path());
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.error().message, HasSubstr("attestation_high_watermarks"));
  EXPECT_TRUE(store->list()->empty());
}

TEST(OctezImportTest, LaterBadEntryInAFileImportsNothingFromIt) {
  TempDir dir;
  const std::string second = testing::make_key(tezos::Kind::Block, 3).pkh.to_b58();
  write(dir / "block_high_watermarks", "{\"" + kMainnet + "\": {\"" + kBootstrap1 + "\": " + mark(10, 0) + ", \"" +
                                           second + "\": {\"level\": true, \"hash\": \"" + kHashHex + "\"}}}");
  auto store = make_memory_store();
  auto report = import_octez_file(*store, dir / "block_high_watermarks");
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.error().message, HasSubstr(second));
  EXPECT_TRUE(store->list()->empty());
}

TEST(OctezImportTest, UnknownFileNameIsRejected) {
  TempDir dir;
  write(dir / "watermarks.json", file_with(mark(1, 0)));
  auto store = make_memory_store();
  auto report = import_octez_file(*store, dir / "watermarks.json");
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.error().message, HasSubstr("not an octez watermark file name"));
  EXPECT_TRUE(is_octez_watermark_file("endorsement_high_watermark"));
  EXPECT_FALSE(is_octez_watermark_file("endorsement_high_watermarks.bak"));
}

TEST(OctezImportTest, ExportRoundTripsThroughImport) {
  auto store = make_memory_store();
  const std::string sig = edsig();
  ASSERT_TRUE(store->put_durable(key_of(tezos::Kind::Attestation), Record{9, 2, hash_bytes(), sig}).ok());
  ASSERT_TRUE(store->put_durable(key_of(tezos::Kind::Block), Record{8, 0, hash_bytes(), std::nullopt}).ok());
  auto text = export_octez_watermarks(*store, tezos::Kind::Attestation);
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr(kMainnet));
  EXPECT_THAT(*text, HasSubstr(kHashHex));
  auto parsed = parse_octez_watermarks(*text, octez_file_name(tezos::Kind::Attestation), "export");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].first, key_of(tezos::Kind::Attestation));
  EXPECT_EQ((*parsed)[0].second, (Record{9, 2, hash_bytes(), sig}));
}

TEST(SetWatermarkTest, OperatorMayLowerAndTheSlotStaysClosed) {
  auto store = make_memory_store();
  const HwmKey key = key_of(tezos::Kind::Block);
  ASSERT_TRUE(store->put_durable(key, Record{500, 1, hash_bytes(), edsig()}).ok());
  ASSERT_TRUE(set_watermark(*store, key, 300, 2).ok());
  EXPECT_EQ(store->get(key)->value(), (Record{300, 2, crypto::Digest32{}, std::nullopt}));
}

}  // namespace
}  // namespace pisigner::hwm
