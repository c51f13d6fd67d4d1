// The etcd JSON gateway's replies and the HWM record stored in etcd (signer/hwm/src/etcd/wire.*):
// what a member, or anyone who can write the key, may hand the signer.
// Properties: nothing crashes or throws; base64 round-trips; a record or key that decodes encodes
// back to one that decodes to the same value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "pisigner/hwm/etcd/wire.hpp"

using namespace pisigner;
using namespace pisigner::hwm::etcd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  (void)parse_range(text);
  (void)parse_txn(text);
  (void)parse_put(text);
  (void)parse_token(text);
  (void)parse_status(text);
  (void)parse_error(text);

  auto raw = unbase64(base64(text));
  FUZZ_CHECK(raw.ok() && *raw == text);
  if (auto b = unbase64(text)) FUZZ_CHECK(unbase64(base64(*b)).value() == *b);

  if (auto key = parse_record_key(text)) {
    auto again = parse_record_key(record_key(*key));
    FUZZ_CHECK(again.ok() && *again == *key);
  }
  if (auto stored = decode_record(text)) {
    auto again = decode_record(encode_record(stored->record, stored->node, stored->unix_ms));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->record == stored->record);
    FUZZ_CHECK(again->node == stored->node && again->unix_ms == stored->unix_ms);
  }
  return 0;
}
