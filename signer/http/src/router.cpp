#include "pisigner/http/router.hpp"

#include <nlohmann/json.hpp>

#include "pisigner/http/errors.hpp"
#include "pisigner/http/query.hpp"

namespace pisigner::http {

using nlohmann::json;

namespace {
constexpr std::string_view kKeysPrefix = "/keys/";

Response text(int status, std::string body) {
  return Response{status, "text/plain", std::move(body), {}};
}
Response json_response(int status, const json& body) { return Response{status, "application/json", body.dump(), {}}; }
Response octez_failure(int status, const std::string& msg) {
  return Response{status, "application/json", octez_error_body(msg), {}};
}
// octez's wording (sic) for a path argument that is not a public key hash.
Response bad_pkh(const std::string& pkh_text, const std::string& why) {
  return text(400, "Failed to parsed an argument in path. After \"keys\", the value \"" + pkh_text +
                       "\" is not acceptable for type \"Signature.Public_key_hash\": " + why);
}
// The method as a metric label: a fixed set, since every distinct label value is a series kept forever
// and the method token is the client's choice.
const char* method_label(std::string_view method) {
  static constexpr const char* kKnown[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
  for (const char* m : kKnown) {
    if (method == m) return m;
  }
  return "other";
}
Response method_not_allowed(const char* allow) {
  Response r = text(405, "Method not allowed");
  r.headers.emplace_back("Allow", allow);
  return r;
}

// Media type without parameters, lowercased: "application/json; charset=utf-8" -> "application/json".
std::string media_type(std::string_view ct) {
  auto semi = ct.find(';');
  std::string_view base = ct.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  while (!base.empty() && base.front() == ' ') base.remove_prefix(1);
  std::string out(base);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// SAX handler for a body that must be one JSON string: it stops at the first token that is not,
// so a deeply nested or huge document costs a refusal nothing beyond its first byte.
struct OnlyAString : nlohmann::json_sax<json> {
  std::string value;
  bool not_a_string = false;
  bool refuse() {
    not_a_string = true;
    return false;
  }
  bool string(string_t& s) override {
    value = std::move(s);
    return true;
  }
  bool null() override { return refuse(); }
  bool boolean(bool) override { return refuse(); }
  bool number_integer(number_integer_t) override { return refuse(); }
  bool number_unsigned(number_unsigned_t) override { return refuse(); }
  bool number_float(number_float_t, const string_t&) override { return refuse(); }
  bool binary(binary_t&) override { return refuse(); }
  bool start_object(std::size_t) override { return refuse(); }
  bool key(string_t&) override { return refuse(); }
  bool end_object() override { return refuse(); }
  bool start_array(std::size_t) override { return refuse(); }
  bool end_array() override { return refuse(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
};

// The POST body: a JSON string of hex (octez default) or, with application/octet-stream,
// Data_encoding's 4-byte big-endian length followed by the bytes.
Result<Bytes, Error> decode_body(const Request& req) {
  const std::string mt = media_type(req.content_type);
  if (mt.empty() || mt == "application/json") {
    // What octez sends, "<hex>", is decoded directly; anything else (escapes, other JSON) goes through
    // the JSON parser, which also words the errors.
    std::string_view b = req.body;
    const auto first = b.find_first_not_of(" \t\r\n");
    const auto last = b.find_last_not_of(" \t\r\n");
    if (first != std::string_view::npos && last > first && b[first] == '"' && b[last] == '"') {
      const std::string_view inner = b.substr(first + 1, last - first - 1);
      if (inner.find_first_of("\"\\") == std::string_view::npos) {
        if (auto bytes = from_hex(inner)) return std::move(*bytes);
      }
    }
    OnlyAString sax;
    const bool parsed = json::sax_parse(req.body, &sax);
    if (!parsed && !sax.not_a_string) return fail(Error{"Failed to parse the request body: invalid JSON"});
    if (!parsed) return fail(Error{"Failed to parse the request body: expected a JSON string of hex bytes"});
    auto bytes = from_hex(sax.value);
    if (!bytes) return fail(Error{"Failed to parse the request body: not an even-length hex string"});
    return std::move(*bytes);
  }
  if (mt == "application/octet-stream") {
    const auto& b = req.body;
    if (b.size() < 4) return fail(Error{"Failed to parse the request body: missing length prefix"});
    const auto* p = reinterpret_cast<const std::uint8_t*>(b.data());
    const std::uint32_t n = read_be32(ByteView(p, b.size()), 0);
    if (n != b.size() - 4) return fail(Error{"Failed to parse the request body: length prefix does not match"});
    return Bytes(p + 4, p + b.size());
  }
  return fail(Error{"unsupported media type " + mt});
}
}  // namespace

std::string snapshot_json(const health::Snapshot& s) {
  json checks = json::array();
  for (const auto& c : s.checks) {
    json item = {{"name", c.name},
                 {"required", c.required},
                 {"state", c.probed ? health::to_string(c.state) : "unknown"},
                 {"detail", c.detail}};
    if (c.probed) {
      item["age_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(s.taken - c.updated).count();
    } else {
      item["age_ms"] = nullptr;
    }
    checks.push_back(std::move(item));
  }
  return json{{"authorized", s.authorized}, {"summary", s.summary}, {"checks", checks}}.dump();
}

Router::Router(core::Signer& signer, const health::Health& health, metrics::Registry& metrics, RouterOptions options)
    : signer_(signer), health_(health), metrics_(metrics), options_(std::move(options)) {
  metrics_.declare_counter("pisigner_http_requests_total", "HTTP requests by route, method and status.");
}

bool Router::blocking(const Request& request) const {
  if (request.method != "POST" || request.target.rfind(kKeysPrefix, 0) != 0) return false;
  const Target t = split_target(request.target);
  // By text: no base58 decoding twice per request. A pkh that does not match is answered at once
  // (400/500), so running it inline is right.
  const auto* entry = signer_.keys().find(std::string_view(t.path).substr(kKeysPrefix.size()));
  return entry != nullptr && (options_.every_sign_blocks || entry->key->backend() != "soft");
}

Response Router::handle(const Request& request) {
  std::string route_label = "other";
  Response r = route(request, route_label);
  r.after_send = [this, sign_report = std::move(r.after_send), route_label, method = method_label(request.method),
                  code = r.status] {
    if (sign_report) sign_report();
    metrics_.inc("pisigner_http_requests_total", {{"route", route_label}, {"method", method}, {"code", std::to_string(code)}});
  };
  return r;
}

Response Router::route(const Request& req, std::string& label) {
  const Target t = split_target(req.target);
  const bool get = req.method == "GET" || req.method == "HEAD";

  if (t.path.rfind(kKeysPrefix, 0) == 0) {
    label = "keys";
    const std::string pkh = t.path.substr(kKeysPrefix.size());
    if (req.method == "POST") return sign(pkh, t.query, req);
    if (get) return public_key(pkh);
    return method_not_allowed("GET, POST");
  }
  struct Fixed {
    const char* path;
    const char* label;
    Response (Router::*fn)();
  };
  static const Fixed kRoutes[] = {
      {"/authorized_keys", "authorized_keys", &Router::authorized_keys},
      {"/known_keys", "known_keys", &Router::known_keys},
      {"/authorized", "authorized", &Router::authorized},
      {"/status", "status", &Router::status},
  };
  for (const auto& r : kRoutes) {
    if (t.path != r.path) continue;
    label = r.label;
    if (!get) return method_not_allowed("GET");
    return (this->*r.fn)();
  }
  if (t.path == "/healthz") {
    label = "healthz";
    if (!get) return method_not_allowed("GET");
    return json_response(200, {{"alive", true}});
  }
  if (t.path == "/metrics") {
    label = "metrics";
    if (!get) return method_not_allowed("GET");
    return Response{200, "text/plain; version=0.0.4", metrics_.render(), {}};
  }
  return Response{404, "text/plain", "", {}};
}

Response Router::sign(const std::string& pkh_text, const std::string& query, const Request& req) {
  // A configured key is found by its text, without decoding base58; other text is parsed for the reply.
  std::optional<tezos::PublicKeyHash> pkh;
  if (const auto* entry = signer_.keys().find(std::string_view(pkh_text))) {
    pkh = entry->key->pkh();
  } else {
    auto parsed = tezos::PublicKeyHash::parse(pkh_text);
    if (!parsed) return bad_pkh(pkh_text, parsed.error().message);
    pkh = *parsed;
  }
  auto params = parse_query(query);
  if (!params) return text(400, "Failed to parse the query string: malformed or repeated parameter");
  core::SignRequest sr{*pkh, {}, std::nullopt};
  for (const auto& [k, v] : *params) {
    if (k == "authentication") {
      sr.authentication = v;
    } else if (k == "version") {
      // octez-client always sends its signature version; only BLS keys would care.
      if (v.empty() || v.size() > 2 || v.find_first_not_of("0123456789") != std::string::npos || std::stoi(v) > 3) {
        return text(400, "Failed to parse the query string: version must be 0, 1, 2 or 3");
      }
    }
    // Other parameters are ignored: proxies and newer clients may add some.
  }
  const std::string mt = media_type(req.content_type);
  if (!mt.empty() && mt != "application/json" && mt != "application/octet-stream") {
    return text(415, "Unsupported media type " + mt);
  }
  auto payload = decode_body(req);
  if (!payload) return text(400, payload.error().message);
  sr.payload = std::move(*payload);

  std::function<void()> report;
  auto result = signer_.sign(sr, report);
  // A base58 signature needs no JSON escaping.
  Response r = result ? Response{200, "application/json", "{\"signature\":\"" + result->signature + "\"}", {}}
                      : octez_failure(status_for(result.error().code), result.error().message);
  r.after_send = std::move(report);
  return r;
}

Response Router::public_key(const std::string& pkh_text) {
  auto pkh = tezos::PublicKeyHash::parse(pkh_text);
  if (!pkh) return bad_pkh(pkh_text, pkh.error().message);
  const auto* entry = signer_.keys().find(*pkh);
  if (!entry) return Response{404, "text/plain", "", {}};
  auto pk = entry->key->public_key();
  if (!pk) return octez_failure(503, "public key of " + pkh_text + " not known yet: its Ledger has not been seen");
  return json_response(200, {{"public_key", pk->to_b58()}});
}

Response Router::authorized_keys() {
  const auto& auth = signer_.authenticator();
  if (!auth.required()) return json_response(200, json::object());
  json list = json::array();
  for (const auto& pkh : auth.authorized_pkhs()) list.push_back(pkh.to_b58());
  return json_response(200, {{"authorized_keys", list}});
}

Response Router::known_keys() {
  if (!options_.known_keys) return octez_failure(500, "List known keys request not allowed.");
  json list = json::array();
  for (const auto& e : signer_.keys().entries()) list.push_back(e.key->pkh().to_b58());
  return json_response(200, {{"known_keys", list}});
}

Response Router::authorized() {
  const auto snap = health_.snapshot();
  return Response{snap.authorized ? 200 : 503, "application/json", snapshot_json(snap), {}};
}

Response Router::status() {
  json keys = json::array();
  for (const auto& e : signer_.keys().entries()) {
    keys.push_back({{"pkh", e.key->pkh().to_b58()},
                    {"public_key", e.key->public_key() ? json(e.key->public_key()->to_b58()) : json(nullptr)},
                    {"backend", e.key->backend()},
                    {"allow_mainnet", keys::mainnet_allowed(e)}});  // may sign mainnet (hardware or allowed)
  }
  json j = {{"keys", keys},
            {"accepting", signer_.accepting()},
            {"in_flight", signer_.in_flight()},
            {"health", json::parse(snapshot_json(health_.snapshot()))}};
  if (options_.status_extra) {
    json extra = json::parse(options_.status_extra(), nullptr, false);
    if (extra.is_object()) j.update(extra);
  }
  return json_response(200, j);
}

}  // namespace pisigner::http
