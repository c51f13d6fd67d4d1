#include "startup_check.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "cluster_wiring.hpp"
#include "key_loader.hpp"
#include "pisigner/http/server.hpp"
#include "pisigner/hwm/store.hpp"

namespace pisigner::daemon {

namespace {

bool loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

Result<void, Error> check_listen(const config::Config& cfg) {
  auto each = [&](const std::vector<std::string>& list, const char* key, bool loopback_only) -> Result<void, Error> {
    for (const auto& l : list) {
      auto ep = http::parse_endpoint(l);
      if (!ep) return fail(Error{cfg.source + ": " + key + ": " + ep.error().message});
      // The admin API authorizes keys on the Ledger and resets its watermark, and has no
      // authentication of its own: only local users (pisignerctl over SSH) may reach it.
      if (loopback_only && !loopback(ep->host)) {
        return fail(Error{cfg.source + ": " + key + ": '" + l +
                          "' is not a loopback address; the admin API is served on loopback only "
                          "(127.0.0.1, ::1 or localhost; reach it over ssh)"});
      }
    }
    return {};
  };
  if (auto r = each(cfg.server.listen, "server.listen", false); !r) return r;
  if (auto r = each(cfg.server.health_listen, "server.health_listen", false); !r) return r;
  return each(cfg.server.admin_listen, "server.admin_listen", true);
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
