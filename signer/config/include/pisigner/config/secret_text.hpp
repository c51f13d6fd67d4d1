// Text that holds a secret (a secret key, a passphrase, the config file that contains one): its
// bytes are overwritten (sodium_memzero) when it is destroyed, so no copy outlives its use.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace pisigner::config {

class SecretText {
 public:
  SecretText() = default;
  explicit SecretText(std::string text) : text_(std::move(text)) {}
  SecretText(const SecretText&) = delete;
  SecretText& operator=(const SecretText&) = delete;
  SecretText(SecretText&& other) noexcept : text_(std::move(other.text_)) { other.wipe(); }
  SecretText& operator=(SecretText&& other) noexcept;
  ~SecretText() { wipe(); }

  std::string_view view() const { return text_; }
  std::string& mutable_text() { return text_; }  // for in-place trimming; no reallocating growth
  void wipe();

 private:
  std::string text_;
};

// Reads a whole file into wiped memory (no intermediate stream buffers); nullopt if unreadable.
std::optional<SecretText> read_secret_file(const std::filesystem::path& path);

// Overwrites a string's bytes, then empties it.
void wipe_string(std::string& s);

}  // namespace pisigner::config
