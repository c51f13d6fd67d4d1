#include "admin_router.hpp"

#include <nlohmann/json.hpp>

#include "pisigner/crypto/hd.hpp"
#include "pisigner/http/errors.hpp"
#include "pisigner/ledger/hid_device.hpp"

namespace pisigner::daemon {

using nlohmann::json;

namespace {
constexpr auto kPromptTimeout = std::chrono::seconds(130);
constexpr auto kQueryTimeout = std::chrono::seconds(3);

// Replies carry text that is not ours (the request path, USB descriptor strings, device errors):
// invalid UTF-8 is replaced rather than thrown on, so no reply can abort the handler.
http::Response reply(int status, const json& j) {
  return http::Response{status, "application/json", j.dump(-1, ' ', false, json::error_handler_t::replace), {}};
}
http::Response error(int status, const std::string& msg) { return reply(status, json{{"error", msg}}); }

const char* curve_name(ledger::DerivationType d) {
  switch (d) {
    case ledger::DerivationType::Ed25519: return "ed25519";
    case ledger::DerivationType::Secp256k1: return "secp256k1";
    case ledger::DerivationType::P256: return "p256";
    case ledger::DerivationType::Bip32Ed25519: return "bip32_ed25519";
    case ledger::DerivationType::Bls12_381: return "bls12_381";
  }
  return "?";
}

json state_json(const ledger::DeviceState& st) {
  json j = {{"present", st.present},       {"app_open", st.app_open},         {"unlocked", st.unlocked},
            {"identity_ok", st.identity_ok}, {"authorized_ok", st.authorized_ok}, {"responsive", st.responsive},
            {"transport", st.transport},   {"last_error", st.last_error},     {"reconnects", st.reconnects},
            {"healthy", st.healthy()}};
  j["app_version"] = st.app_version ? json(st.app_version->to_string()) : json(nullptr);
  if (st.authorized) {
    j["authorized_key"] = {{"curve", curve_name(st.authorized->curve)}, {"path", crypto::format_path(st.authorized->path)}};
  } else {
    j["authorized_key"] = nullptr;
  }
  return j;
}

std::string dev_error(const ledger::DeviceError& e) { return std::string(ledger::to_string(e.code)) + ": " + e.message; }
}  // namespace

http::Response AdminRouter::handle(const http::Request& req) {
  const std::string path = req.target.substr(0, req.target.find('?'));
  if (path == "/ledger/devices" && req.method == "GET") {
    json list = json::array();
    for (const auto& d : ledger::enumerate_ledgers()) {
      list.push_back({{"path", d.path}, {"serial", d.serial}, {"product", d.product}});
    }
    return reply(200, {{"devices", list}});
  }
  if (!ledgers_) return error(404, "no ledger keys are configured");
  if (path == "/ledger" && req.method == "GET") {
    json devices = json::array();
    for (const auto& d : ledgers_->devices()) {
      json keys = json::array();
      for (auto* k : d->keys) {
        keys.push_back({{"pkh", k->pkh().to_b58()}, {"path", crypto::format_path(k->path())}, {"curve", curve_name(k->curve())}});
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
  if (req.method != "POST") return error(404, "unknown admin route " + path);

  json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("pkh") || !body["pkh"].is_string()) {
    return error(400, "body must be a JSON object with \"pkh\"");
  }
  const std::string pkh = body["pkh"];
  if (auto parsed = tezos::PublicKeyHash::parse(pkh); !parsed) return error(400, "pkh: " + parsed.error().message);
  auto* dev = ledgers_->find_device(pkh);
  if (!dev) return error(404, "no ledger key " + pkh + " is configured");
  keys::LedgerKey* key = nullptr;
  for (auto* k : dev->keys) {
    if (k->pkh().to_b58() == pkh) key = k;
  }
  const auto curve = key->curve();
  const auto kpath = key->path();
  auto u32 = [&](const char* name) -> std::optional<std::uint32_t> {
    if (!body.contains(name) || !body[name].is_number_unsigned() || body[name].get<std::uint64_t>() >= (1u << 31)) return std::nullopt;
    return body[name].get<std::uint32_t>();
  };

  Result<void, ledger::DeviceError> done{};
  if (path == "/ledger/authorize") {
    // Jobs capture by value: a job may still run after its caller timed out.
    auto r = dev->worker->run([curve, kpath](ledger::BakingApp& app) -> Result<void, ledger::DeviceError> {
      auto pk = app.authorize_baking(curve, kpath);
      if (!pk) return fail(pk.error());
      return {};
    }, kPromptTimeout);
    done = r;
  } else if (path == "/ledger/setup") {
    auto main_level = u32("main_level"), test_level = u32("test_level");
    if (!main_level || !test_level || !body.contains("chain") || !body["chain"].is_string()) {
      return error(400, "setup needs \"chain\" (Net...), \"main_level\" and \"test_level\"");
    }
    auto chain = tezos::ChainId::parse(body["chain"].get<std::string>());
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
  } else if (path == "/ledger/reset-hwm") {
    auto level = u32("level");
    if (!level) return error(400, "reset-hwm needs \"level\" (0 .. 2^31-1)");
    done = dev->worker->run([lvl = *level](ledger::BakingApp& app) { return app.reset(lvl); }, kPromptTimeout);
  } else {
    return error(404, "unknown admin route " + path);
  }
  if (!done) return error(500, dev_error(done.error()));
  (void)dev->worker->refresh(kQueryTimeout);
  return reply(200, {{"ok", true}, {"state", state_json(dev->worker->state())}});
}

}  // namespace pisigner::daemon
