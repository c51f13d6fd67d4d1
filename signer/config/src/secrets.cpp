#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>


#include "pisigner/config/config.hpp"
#include "secret_text.hpp"

namespace pisigner::config {

void wipe_string(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

SecretText& SecretText::operator=(SecretText&& other) noexcept {
  if (this != &other) {
    wipe();
    text_ = std::move(other.text_);
    other.wipe();
  }
  return *this;
}

void SecretText::wipe() {
  // The whole capacity: trimming may have left secret bytes past size().
  if (text_.capacity() > 0) sodium_memzero(text_.data(), text_.capacity());
  text_.clear();
}

std::optional<SecretText> read_secret_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return std::nullopt;
  }
  // Sized once, so the text never moves (a reallocation would leave an unwiped copy behind).
  SecretText out(std::string(static_cast<std::size_t>(st.st_size), '\0'));
  std::size_t got = 0;
  std::string& text = out.mutable_text();
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  text.resize(got);
  return out;
}

WipeSecretNodes::~WipeSecretNodes() {
  auto* keys = root_.get_as<toml::array>("key");
  if (keys == nullptr) return;
  for (auto& item : *keys) {
    auto* table = item.as_table();
    if (table == nullptr) continue;
    if (auto* sk = table->get_as<std::string>("secret_key")) wipe_string(sk->get());
  }
}

namespace {

Result<void, Error> not_world_readable(const std::filesystem::path& file, const std::string& holds) {
  struct stat st {};
  // One that cannot be read is reported by its reader, with the [[key]] line.
  if (::stat(file.c_str(), &st) != 0) return {};
  if ((st.st_mode & S_IROTH) != 0) {
    return fail(Error{file.string() + ": holds " + holds + " and is readable by every user; fix it with: chmod o-rwx " +
                      file.string()});
  }
  return {};
}

}  // namespace

Result<void, Error> check_secret_files(const Config& config) {
  bool config_holds_key = false;
  for (const auto& k : config.keys) {
    config_holds_key = config_holds_key || !k.secret_key.empty();
    if (k.passphrase_file) {
      if (auto r = not_world_readable(*k.passphrase_file, "a passphrase (line " + std::to_string(k.line) + ")"); !r) return r;
    }
  }
  if (config.cluster.enabled) {
    if (auto r = not_world_readable(config.cluster.key_file, "the etcd client key ([cluster] key_file)"); !r) return r;
    if (config.cluster.password_file) {
      if (auto r = not_world_readable(*config.cluster.password_file, "the etcd password ([cluster] password_file)"); !r) {
        return r;
      }
    }
  }
  if (config_holds_key) return not_world_readable(config.source, "a secret_key");
  return {};
}

void wipe_secrets(Config& config) {
  for (auto& k : config.keys) wipe_string(k.secret_key);
}

}  // namespace pisigner::config
