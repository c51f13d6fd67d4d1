// Shared helpers for the HWM tests: temporary directories, keys and payload hashes.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "pisigner/hwm/store.hpp"

namespace pisigner::hwm::testing {

// A fresh directory under $TMPDIR, removed (permissions restored first) at scope end.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "pisigner-hwm-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) std::abort();
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all, ec);
    }
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline HwmKey make_key(tezos::Kind kind = tezos::Kind::Attestation, std::uint8_t pkh_byte = 1,
                       tezos::ChainId chain = tezos::kMainnetChainId) {
  HwmKey key;
  key.kind = kind;
  key.chain = chain;
  key.pkh.curve = crypto::Curve::Ed25519;
  key.pkh.hash.fill(pkh_byte);
  return key;
}

// A distinct stand-in for BLAKE2b(payload): payload number `n`.
inline crypto::Digest32 digest(std::uint32_t n) {
  crypto::Digest32 d{};
  d[0] = static_cast<std::uint8_t>(n);
  d[1] = static_cast<std::uint8_t>(n >> 8);
  d[2] = static_cast<std::uint8_t>(n >> 16);
  d[3] = static_cast<std::uint8_t>(n >> 24);
  d[31] = 0xa5;
  return d;
}

}  // namespace pisigner::hwm::testing
