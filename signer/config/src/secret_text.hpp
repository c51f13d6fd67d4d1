// The loader's side of secret hygiene: the parsed TOML tree holds secret_key strings too.
#pragma once

#include <toml++/toml.h>

namespace pisigner::config {

// Overwrites every [[key]] secret_key string of `root` when destroyed.
class WipeSecretNodes {
 public:
  explicit WipeSecretNodes(toml::table& root) : root_(root) {}
  WipeSecretNodes(const WipeSecretNodes&) = delete;
  WipeSecretNodes& operator=(const WipeSecretNodes&) = delete;
  ~WipeSecretNodes();

 private:
  toml::table& root_;
};

}  // namespace pisigner::config

#include "pisigner/config/secret_text.hpp"
