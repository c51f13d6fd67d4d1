#include <sodium.h>

#include <cstdio>
#include <cstdlib>

#include "internal.hpp"

namespace pisigner::crypto::detail {

void ensure_sodium() {
  // A function-local static runs sodium_init exactly once even under concurrent first use.
  static const bool ready = sodium_init() >= 0;
  if (!ready) fatal("sodium_init failed");
}

void fatal(const char* what) {
  std::fprintf(stderr, "pisigner_crypto: fatal: %s\n", what);
  std::abort();
}

}  // namespace pisigner::crypto::detail
