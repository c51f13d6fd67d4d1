// Text forms of an HwmKey as stored in SQLite and in octez files: kind name, chain b58, pkh b58.
#pragma once

#include <string>
#include <string_view>

#include "pisigner/hwm/store.hpp"
#include "pisigner/result.hpp"

namespace pisigner::hwm::detail {

struct KeyText {
  std::string kind;
  std::string chain;
  std::string pkh;
};

KeyText to_text(const HwmKey& key);
// Error: a message naming the field that does not parse.
Result<HwmKey, std::string> from_text(std::string_view kind, std::string_view chain, std::string_view pkh);

// "block level 12 round 3" / "endorsement level 12" for reports and errors.
std::string describe(const HwmKey& key, const Record& record);

}  // namespace pisigner::hwm::detail
