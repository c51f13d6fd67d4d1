#include "startup_check.hpp"

#include "cluster_wiring.hpp"
#include "key_loader.hpp"
#include "pisigner/http/server.hpp"
#include "pisigner/hwm/store.hpp"

namespace pisigner::daemon {

namespace {

Result<void, Error> check_listen(const config::Config& cfg) {
  auto each = [&](const std::vector<std::string>& list, const char* key) -> Result<void, Error> {
    for (const auto& l : list) {
      if (auto ep = http::parse_endpoint(l); !ep) return fail(Error{cfg.source + ": " + key + ": " + ep.error().message});
    }
    return {};
  };
  if (auto r = each(cfg.server.listen, "server.listen"); !r) return r;
  return each(cfg.server.admin_listen, "server.admin_listen");
}

}  // namespace

Result<config::Config, Error> load_checked_config(const std::filesystem::path& file) {
  auto cfg = config::load_file(file);
  if (!cfg) return cfg;
  // Before any secret is decoded: a world-readable secret is refused, not used.
  if (auto r = config::check_secret_files(*cfg); !r) return fail(r.error());
  if (auto r = check_listen(*cfg); !r) return fail(r.error());
  if (auto r = check_keys(*cfg); !r) return fail(r.error());
  if (auto r = check_cluster(*cfg); !r) return fail(r.error());
  return cfg;
}

bool store_present(const std::filesystem::path& dir) {
  std::error_code ec;
  const std::string db = (dir / hwm::kDatabaseFile).string();
  return std::filesystem::exists(db, ec) || std::filesystem::exists(db + "-wal", ec);
}

}  // namespace pisigner::daemon
