#include "pisigner/http/admin_router.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "pisigner/crypto/hd.hpp"
#include "pisigner/http/query.hpp"

namespace pisigner::http {

using nlohmann::json;

namespace {
constexpr auto kPromptTimeout = std::chrono::seconds(130);  // the operator confirms on the device
constexpr auto kQueryTimeout = std::chrono::seconds(3);
constexpr std::uint64_t kLevelLimit = 1ull << 31;  // the Baking app's levels are 31-bit

// Replies carry text that is not ours (the request path, USB descriptor strings, device errors):
// invalid UTF-8 is replaced, never thrown on, so no request can abort the handler.
Response reply(int status, const json& j) {
  return Response{status, "application/json", j.dump(-1, ' ', false, json::error_handler_t::replace), {}};
}
Response error(int status, const std::string& msg) { return reply(status, json{{"error", msg}}); }

json state_json(const ledger::DeviceState& st) {
  json j = {{"present", st.present},       {"app_open", st.app_open},         {"unlocked", st.unlocked},
            {"identity_ok", st.identity_ok}, {"authorized_ok", st.authorized_ok}, {"responsive", st.responsive},
            {"transport", st.transport},   {"last_error", st.last_error},     {"reconnects", st.reconnects},
            {"healthy", st.healthy()}};
  j["app_version"] = st.app_version ? json(st.app_version->to_string()) : json(nullptr);
  if (st.authorized) {
    j["authorized_key"] = {{"curve", ledger::derivation_name(st.authorized->curve)}, {"path", crypto::format_path(st.authorized->path)}};
  } else {
    j["authorized_key"] = nullptr;
  }
  return j;
}

std::string dev_error(const ledger::DeviceError& e) { return std::string(ledger::to_string(e.code)) + ": " + e.message; }

struct Route {
  const char* path;
  const char* method;
  std::vector<const char*> fields;  // a POST body's fields, every one required
};

const std::vector<Route>& routes() {
  static const std::vector<Route> kRoutes = {
      {"/ledger", "GET", {}},
      {"/ledger/devices", "GET", {}},
      {"/ledger/authorize", "POST", {"pkh"}},
      {"/ledger/setup", "POST", {"pkh", "chain", "main_level", "test_level"}},
      {"/ledger/deauthorize", "POST", {"pkh"}},
      {"/ledger/reset-hwm", "POST", {"pkh", "level"}},
  };
  return kRoutes;
}

const Route* find_route(const std::string& path) {
  for (const auto& r : routes()) {
    if (path == r.path) return &r;
  }
  return nullptr;
}

// The body as an object holding exactly `fields`, or the 400 reply saying what is wrong.
Result<json, Response> parse_body(const std::string& body, const std::vector<const char*>& fields) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail(error(400, "body is not JSON (or not UTF-8)"));
  if (!j.is_object()) return fail(error(400, "body must be a JSON object"));
  for (const auto& [name, value] : j.items()) {
    if (std::find_if(fields.begin(), fields.end(), [&](const char* f) { return name == f; }) == fields.end()) {
      return fail(error(400, "unknown field \"" + name + "\""));
    }
  }
  for (const char* f : fields) {
    if (!j.contains(f)) return fail(error(400, std::string("missing field \"") + f + "\""));
  }
  return j;
}

// A level field: an integer from 0 to 2^31-1.
Result<std::uint32_t, Response> level_field(const json& body, const char* name) {
  const json& v = body.at(name);
  if (!v.is_number_unsigned() || v.get<std::uint64_t>() >= kLevelLimit) {
    return fail(error(400, std::string("\"") + name + "\" must be an integer from 0 to " + std::to_string(kLevelLimit - 1)));
  }
  return static_cast<std::uint32_t>(v.get<std::uint64_t>());
}

}  // namespace

bool AdminRouter::blocking(const Request& request) const {
  return request.method == "POST" || split_target(request.target).path == "/ledger";
}

Response AdminRouter::handle(const Request& req) {
  const std::string path = split_target(req.target).path;
  const Route* route = find_route(path);
  if (!route) return error(404, "unknown admin route " + path);
  if (req.method != route->method) {
    Response r = error(405, std::string("use ") + route->method + " for " + route->path);
    r.headers.emplace_back("Allow", route->method);
    return r;
  }
  if (path == "/ledger/devices") {
    json list = json::array();
    for (const auto& d : enumerate_()) list.push_back({{"path", d.path}, {"serial", d.serial}, {"product", d.product}});
    return reply(200, {{"devices", list}});
  }
  if (!devices_) return error(404, "no ledger keys are configured");
  if (path == "/ledger") return ledger_info();
  return device_command(path, req);
}

Response AdminRouter::ledger_info() {
  json devices = json::array();
  for (const auto& d : *devices_) {
    json keys = json::array();
    for (auto* k : d->keys) {
      keys.push_back({{"pkh", k->pkh().to_b58()}, {"path", crypto::format_path(k->path())}, {"curve", ledger::derivation_name(k->curve())}});
    }
    json item = {{"device", d->spec}, {"state", state_json(d->worker->state())}, {"keys", keys}};
    auto info = d->worker->run(
        [](ledger::BakingApp& app) -> Result<json, ledger::DeviceError> {
          json out;
          if (auto git = app.git()) out["git"] = *git;
          auto hwm = app.query_all_hwm();
          if (!hwm) return fail(hwm.error());
          auto opt = [](const std::optional<std::uint32_t>& v) { return v ? json(*v) : json(nullptr); };
          char chain[9];
          std::snprintf(chain, sizeof chain, "%08x", hwm->main_chain_id);
          out["hwm"] = {{"main_chain_id", chain}, {"main_level", hwm->main_level}, {"main_round", opt(hwm->main_round)},
                        {"test_level", hwm->test_level}, {"test_round", opt(hwm->test_round)}};
          return out;
        },
        kQueryTimeout);
    if (info) {
      item.update(*info);
    } else {
      item["query_error"] = dev_error(info.error());
    }
    devices.push_back(std::move(item));
  }
  return reply(200, {{"devices", devices}});
}

Response AdminRouter::device_command(const std::string& path, const Request& req) {
  auto body = parse_body(req.body, find_route(path)->fields);
  if (!body) return std::move(body).error();
  if (!(*body)["pkh"].is_string()) return error(400, "\"pkh\" must be a string (tz1..., tz2..., tz3...)");
  auto pkh = tezos::PublicKeyHash::parse((*body)["pkh"].get<std::string>());
  if (!pkh) return error(400, "pkh: " + pkh.error().message);
  const auto [dev, key] = devices::find_key(*devices_, *pkh);
  if (!dev) return error(404, "no ledger key " + pkh->to_b58() + " is configured");
  const auto curve = key->curve();
  const auto kpath = key->path();

  // Jobs capture by value: a job may still run after its caller timed out.
  Result<void, ledger::DeviceError> done{};
  if (path == "/ledger/authorize") {
    done = dev->worker->run([curve, kpath](ledger::BakingApp& app) -> Result<void, ledger::DeviceError> {
      auto pk = app.authorize_baking(curve, kpath);
      if (!pk) return fail(pk.error());
      return {};
    }, kPromptTimeout);
  } else if (path == "/ledger/setup") {
    auto main_level = level_field(*body, "main_level");
    if (!main_level) return std::move(main_level).error();
    auto test_level = level_field(*body, "test_level");
    if (!test_level) return std::move(test_level).error();
    if (!(*body)["chain"].is_string()) return error(400, "\"chain\" must be a chain id string (Net...)");
    auto chain = tezos::ChainId::parse((*body)["chain"].get<std::string>());
    if (!chain) return error(400, "chain: " + chain.error().message);
    const std::uint32_t chain_id = read_be32(chain->bytes, 0);
    done = dev->worker->run([curve, kpath, chain_id, ml = *main_level, tl = *test_level](
                                ledger::BakingApp& app) -> Result<void, ledger::DeviceError> {
      auto pk = app.setup(curve, kpath, chain_id, ml, tl);
      if (!pk) return fail(pk.error());
      return {};
    }, kPromptTimeout);
  } else if (path == "/ledger/deauthorize") {
    done = dev->worker->run([](ledger::BakingApp& app) { return app.deauthorize(); }, kQueryTimeout);
  } else {  // /ledger/reset-hwm
    auto level = level_field(*body, "level");
    if (!level) return std::move(level).error();
    done = dev->worker->run([lvl = *level](ledger::BakingApp& app) { return app.reset(lvl); }, kPromptTimeout);
  }
  if (!done) return error(500, dev_error(done.error()));
  (void)dev->worker->refresh(kQueryTimeout);
  return reply(200, {{"ok", true}, {"state", state_json(dev->worker->state())}});
}

}  // namespace pisigner::http
