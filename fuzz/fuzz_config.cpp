// pisignerd's TOML configuration (signer/config): toml++ and every section's checks, on text only
// (secret files named in it are read later, by check_secret_files; not here).
// Properties: nothing crashes or throws past parse(); a refusal names what is wrong; an accepted
// configuration has at least one key, and wipe_secrets() leaves no secret text behind.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "pisigner/config/config.hpp"

using namespace pisigner;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = config::parse(text, "fuzz.toml");
  if (!c) {
    FUZZ_CHECK(!c.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(!c->keys.empty());
  config::wipe_secrets(*c);
  return 0;
}
