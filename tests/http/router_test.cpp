// Router::handle as a pure function (no sockets): octez routes, status codes and error bodies
// (reference/octez-signer.md §2), appliance endpoints, and bad input that must sign nothing.
#include "pisigner/http/router.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>

#include "pisigner/http/errors.hpp"
#include "pisigner/http/health_router.hpp"
#include "router_fixture.hpp"

namespace pisigner::http {
namespace {

using namespace test;
using nlohmann::json;

std::string octez(const std::string& msg) {
  return R"([{"kind":"temporary","id":"failure","msg":")" + msg + R"("}])";
}

std::string header(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

// ---- bad input: every case checks status, body and that nothing was signed -------------------

enum class Setup { Plain, Auth };

struct BadCase {
  const char* name;
  Setup setup;
  std::string method, target, content_type, body;
  int status;
  std::string body_exact;   // when non-empty, the body must equal this
  std::string body_prefix;  // otherwise the body must start with this (empty prefix: empty body)
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

std::string hexs(const Bytes& b) { return jstr(to_hex(b)); }

std::vector<BadCase> bad_cases() {
  const std::string K = keys_path();
  const std::string att = to_hex(hex(kAttestationHex));
  const Bytes block = hex(kBlockHex);
  const Bytes pre = hex(kPreattestationHex);
  Bytes mainnet = attestation(200, 0);
  std::copy(tezos::kMainnetChainId.bytes.begin(), tezos::kMainnetChainId.bytes.end(), mainnet.begin() + 1);
  Bytes foreign_chain = attestation(200, 0);
  const auto other = chain("NetXLH1uAxK7CCh");
  std::copy(other.bytes.begin(), other.bytes.end(), foreign_chain.begin() + 1);
  std::string octet_bad = std::string("\x00\x00\x00\x09", 4) + std::string(80, 'x');
  const std::string body_err = "Failed to parse the request body";
  const std::string query_err = "Failed to parse the query string";
  const std::string path_err = "Failed to parsed an argument in path";
  const std::string b1_auth_sig = [&] {
    auto k = soft_key(kB1Sk);
    const Bytes msg = policy::Authenticator::signed_bytes(pkh(kB1Pkh), hex(kAttestationHex));
    return k->sign(msg, crypto::blake2b_256(msg)).value().to_b58();
  }();
  using S = Setup;
  return {
      {"malformed JSON", S::Plain, "POST", K, "application/json", "\"13ed", 400, "", body_err},
      {"JSON number", S::Plain, "POST", K, "application/json", "1234", 400, "", body_err},
      {"JSON object", S::Plain, "POST", K, "application/json", "{\"data\":\"" + att + "\"}", 400, "", body_err},
      {"JSON array", S::Plain, "POST", K, "application/json", "[\"" + att + "\"]", 400, "", body_err},
      {"JSON null", S::Plain, "POST", K, "application/json", "null", 400, "", body_err},
      {"deeply nested array", S::Plain, "POST", K, "application/json",
       std::string(100000, '[') + std::string(100000, ']'), 400, "", body_err + ": expected a JSON string"},
      {"unclosed nesting", S::Plain, "POST", K, "application/json", std::string(1000, '['), 400, "",
       body_err + ": expected a JSON string"},
      {"string then garbage", S::Plain, "POST", K, "application/json", jstr(att) + " x", 400, "",
       body_err + ": invalid JSON"},
      {"two strings", S::Plain, "POST", K, "application/json", jstr(att) + " " + jstr(att), 400, "",
       body_err + ": invalid JSON"},
      {"bad escape", S::Plain, "POST", K, "application/json", "\"\\q" + att + "\"", 400, "",
       body_err + ": invalid JSON"},
      {"odd-length hex", S::Plain, "POST", K, "application/json", jstr(att.substr(1)), 400, "", body_err},
      {"non-hex", S::Plain, "POST", K, "application/json", jstr("13zz"), 400, "", body_err},
      {"0x prefix", S::Plain, "POST", K, "application/json", jstr("0x" + att), 400, "", body_err},
      {"empty body", S::Plain, "POST", K, "application/json", "", 400, "", body_err},
      {"empty body, no content type", S::Plain, "POST", K, "", "", 400, "", body_err},
      {"empty string payload", S::Plain, "POST", K, "application/json", "\"\"", 500, octez("empty payload"), ""},
      {"unknown pkh", S::Plain, "POST", keys_path(kB2Pkh), "application/json", jstr(att), 500,
       octez("no keys for the source contract " + std::string(kB2Pkh)), ""},
      {"invalid pkh base58", S::Plain, "POST", "/keys/tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSy", "application/json",
       jstr(att), 400, "", path_err},
      {"garbage pkh", S::Plain, "POST", "/keys/hello", "application/json", jstr(att), 400, "", path_err},
      {"public key instead of pkh", S::Plain, "POST", keys_path(kB1Pk), "application/json", jstr(att), 400, "",
       path_err},
      {"empty pkh", S::Plain, "POST", "/keys/", "application/json", jstr(att), 400, "", path_err},
      {"PUT on /keys", S::Plain, "PUT", K, "application/json", jstr(att), 405, "", "Method not allowed"},
      {"DELETE on /keys", S::Plain, "DELETE", K, "", "", 405, "", "Method not allowed"},
      {"unknown route", S::Plain, "POST", "/sign/" + std::string(kB1Pkh), "application/json", jstr(att), 404, "",
       ""},
      {"unsupported content type", S::Plain, "POST", K, "text/plain", jstr(att), 415, "", "Unsupported media type"},
      {"bson", S::Plain, "POST", K, "application/xml", jstr(att), 415, "", "Unsupported media type"},
      {"octet-stream bad length prefix", S::Plain, "POST", K, "application/octet-stream", octet_bad, 400, "",
       body_err},
      {"octet-stream without length", S::Plain, "POST", K, "application/octet-stream", std::string("\x13\x00", 2),
       400, "", body_err},
      {"magic 0x03", S::Plain, "POST", K, "application/json", jstr("03" + att.substr(2)), 500,
       octez("magic byte 0x03 not allowed"), ""},
      {"magic 0x04", S::Plain, "POST", K, "application/json", jstr("04" + att.substr(2)), 500,
       octez("magic byte 0x04 not allowed"), ""},
      {"magic 0x05", S::Plain, "POST", K, "application/json", jstr("05" + att.substr(2)), 500,
       octez("magic byte 0x05 not allowed"), ""},
      {"magic 0x01", S::Plain, "POST", K, "application/json", jstr("01" + att.substr(2)), 500,
       octez("magic byte 0x01 not allowed"), ""},
      {"forbidden chain", S::Plain, "POST", K, "application/json", hexs(foreign_chain), 500,
       octez("chain NetXLH1uAxK7CCh not allowed"), ""},
      {"mainnet with a soft key", S::Plain, "POST", K, "application/json", hexs(mainnet), 500,
       octez("soft key refuses mainnet (NetXdQprcVkpaWU); set allow_mainnet = true for this key"), ""},
      {"truncated block", S::Plain, "POST", K, "application/json", hexs(Bytes(block.begin(), block.begin() + 100)),
       500, octez("byte sequence too short to be a block"), ""},
      {"truncated attestation", S::Plain, "POST", K, "application/json", jstr(att.substr(0, 86)), 500,
       octez("byte sequence too short to be an attestation"), ""},
      {"truncated preattestation", S::Plain, "POST", K, "application/json",
       hexs(Bytes(pre.begin(), pre.begin() + 44)), 500, octez("byte sequence too short to be a preattestation"), ""},
      {"fitness length overflow", S::Plain, "POST", K, "application/json", hexs(with_be32(block, 83, 0xffffffff)),
       500, octez("byte sequence too short to be a block"), ""},
      {"negative level", S::Plain, "POST", K, "application/json", hexs(with_be32(attestation(1, 0), 40, 0xffffffff)),
       500, octez("negative level in attestation"), ""},
      {"version=9", S::Plain, "POST", K + "?version=9", "application/json", jstr(att), 400, "", query_err},
      {"version=abc", S::Plain, "POST", K + "?version=abc", "application/json", jstr(att), 400, "", query_err},
      {"version=-1", S::Plain, "POST", K + "?version=-1", "application/json", jstr(att), 400, "", query_err},
      {"percent garbage", S::Plain, "POST", K + "?version=%zz", "application/json", jstr(att), 400, "", query_err},
      {"truncated percent escape", S::Plain, "POST", K + "?authentication=%4", "application/json", jstr(att), 400,
       "", query_err},
      {"repeated query key", S::Plain, "POST", K + "?version=1&version=2", "application/json", jstr(att), 400, "",
       query_err},
      {"lower level", S::Plain, "POST", K, "application/json", hexs(attestation(99, 7)), 500,
       octez("attestation level 99 below high watermark 100"), ""},
      {"same level lower round", S::Plain, "POST", K, "application/json", hexs(attestation(100, 1)), 500,
       octez("attestation level 100 and round 1 not above high watermark (100,2)"), ""},
      {"same level and round, different data", S::Plain, "POST", K, "application/json",
       hexs(attestation(100, 2, 0x01)), 500,
       octez("attestation level 100 and round 2 already signed with different data"), ""},
      {"missing authentication", S::Auth, "POST", K + "?version=2", "application/json", jstr(att), 500,
       octez("missing authentication signature field"), ""},
      {"garbage authentication", S::Auth, "POST", K + "?authentication=edsigXXXX", "application/json", jstr(att),
       500, octez("invalid authentication signature"), ""},
      {"authentication for another payload", S::Auth, "POST",
       K + "?authentication=" + std::string(kAuth03ByB2) + "&version=2", "application/json", jstr(att), 500,
       octez("invalid authentication signature"), ""},
      {"authentication by the signing key itself", S::Auth, "POST", K + "?authentication=" + b1_auth_sig,
       "application/json", jstr(att), 500, octez("invalid authentication signature"), ""},
      {"valid authentication, forbidden magic byte", S::Auth, "POST",
       K + "?authentication=" + std::string(kAuth03ByB2), "application/json", jstr("03"), 500,
       octez("magic byte 0x03 not allowed"), ""},
  };
}

class BadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadInput, IsRefusedAndSignsNothing) {
  const BadCase& c = GetParam();
  HarnessOptions o;
  o.policy.chains = {chain("NetXxkAx4woPLyu"), tezos::kMainnetChainId};
  if (c.setup == Setup::Auth) {
    o.auth_required = true;
    o.authorized_keys = {std::string(kB2Pk)};
  }
  RouterHarness rh(o);
  if (c.setup == Setup::Plain) {
    // An existing watermark at attestation (100, 2), so refusals below it can be exercised.
    auto seeded = rh.post(keys_path(), hexs(attestation(100, 2)));
    ASSERT_EQ(seeded.status, 200) << seeded.body;
  }
  const auto records_before = rh.h.records();
  const int calls_before = rh.h.key->calls();

  Response r = rh.router.handle(Request{c.method, c.target, c.content_type, c.body});
  EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
  if (!c.body_exact.empty()) {
    EXPECT_EQ(r.body, c.body_exact) << c.name;
    EXPECT_EQ(r.content_type, "application/json") << c.name;
    const json j = json::parse(r.body);  // and it is the octez error trace shape
    ASSERT_TRUE(j.is_array() && j.size() == 1) << c.name;
    EXPECT_EQ(j[0].size(), 3u) << c.name;
  } else if (c.body_prefix.empty()) {
    EXPECT_EQ(r.body, "") << c.name;
  } else {
    EXPECT_EQ(r.body.rfind(c.body_prefix, 0), 0u) << c.name << ": " << r.body;
  }
  if (c.status == 405) {
    EXPECT_EQ(header(r, "Allow"), "GET, POST") << c.name;
  }

  EXPECT_EQ(rh.h.key->calls(), calls_before) << c.name << ": the key signed";
  EXPECT_TRUE(rh.h.records() == records_before) << c.name << ": the high watermark changed";
}

INSTANTIATE_TEST_SUITE_P(Router, BadInput, ::testing::ValuesIn(bad_cases()),
                         [](const ::testing::TestParamInfo<BadCase>& info) {
                           std::string n;
                           for (char ch : std::string(info.param.name)) n += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return n;
                         });

TEST(Router, OctezErrorBodyEscapesTheMessage) {
  const std::string body = octez_error_body("a \"quoted\"\nline");
  EXPECT_EQ(body, R"([{"kind":"temporary","id":"failure","msg":"a \"quoted\"\nline"}])");
  EXPECT_EQ(json::parse(body)[0]["msg"], "a \"quoted\"\nline");
}

TEST(Router, AtLeastThirtyBadInputCases) { EXPECT_GE(bad_cases().size(), 30u); }

// ---- signing ------------------------------------------------------------------------------------

TEST(Router, SignsTheReferenceAttestation) {
  RouterHarness rh;
  auto r = rh.post(keys_path() + "?version=2", jstr(kAttestationHex));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"signature":")" + std::string(kB1AttestationSig) + R"("})");
  // Idempotent retry: same answer, no second signature.
  EXPECT_EQ(rh.post(keys_path() + "?version=2", jstr(kAttestationHex)).body, r.body);
  EXPECT_EQ(rh.h.key->calls(), 1);
}

TEST(Router, AcceptsOctezClientVariants) {
  const std::string expected = R"({"signature":")" + std::string(kB1AttestationSig) + R"("})";
  std::string upper(kAttestationHex);
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const Bytes raw = hex(kAttestationHex);
  std::string octet = std::string("\x00\x00\x00\x50", 4) + std::string(raw.begin(), raw.end());
  // Valid JSON that is not the plain "<hex>" form: the first digit as a \u escape, blanks around.
  const std::string hex_text(kAttestationHex);
  const std::string escaped = " \n\"\\u003" + hex_text.substr(0, 1) + hex_text.substr(1) + "\"\t";
  struct Variant {
    std::string target, content_type, body;
  };
  for (const auto& v : std::vector<Variant>{
           {keys_path(), "", jstr(kAttestationHex)},
           {keys_path(), "application/json; charset=utf-8", jstr(kAttestationHex)},
           {keys_path(), "Application/JSON", jstr(upper)},
           {keys_path() + "?version=0&future=1", "application/json", jstr(kAttestationHex)},
           {keys_path(), "application/octet-stream", octet},
           {keys_path(), "application/json", escaped},
       }) {
    RouterHarness rh;
    auto r = rh.post(v.target, v.body, v.content_type);
    EXPECT_EQ(r.status, 200) << v.target << " " << v.content_type << ": " << r.body;
    EXPECT_EQ(r.body, expected);
  }
}

TEST(Router, AuthenticatedSignWithTheReferenceVector) {
  HarnessOptions o;
  o.auth_required = true;
  o.authorized_keys = {std::string(kB2Pk)};
  RouterHarness rh(o);
  auto r = rh.post(keys_path() + "?authentication=" + std::string(kAuthAttestationByB2) + "&version=2",
                   jstr(kAttestationHex));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"signature":")" + std::string(kB1AttestationSig) + R"("})");
}

TEST(Router, DurableWriteFailureIsAnOctezErrorAndSignsNothing) {
  RouterHarness rh;
  rh.h.store.fail_durable = true;
  auto r = rh.post(keys_path(), jstr(kAttestationHex));
  EXPECT_EQ(r.status, 500);
  ASSERT_TRUE(json::parse(r.body).is_array()) << r.body;
  EXPECT_EQ(rh.h.key->calls(), 0);
}

TEST(Router, UnavailableDeviceAndShutdownAre503SoTheStandbyIsTried) {
  RouterHarness rh;
  rh.h.key->set_failure(keys::KeyError::Code::Unavailable);
  auto r = rh.post(keys_path(), hexs(attestation(5, 0)));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, octez("device says no"));
  rh.h.key->set_failure(std::nullopt);
  rh.h.signer->stop_accepting();
  EXPECT_EQ(rh.post(keys_path(), hexs(attestation(6, 0))).status, 503);
  EXPECT_EQ(status_for(core::SignErrc::BackendRefused), 500);
}

// ---- other routes -------------------------------------------------------------------------------

TEST(Router, PublicKeyLookup) {
  RouterHarness rh;
  auto r = rh.get(keys_path());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"public_key":")" + std::string(kB1Pk) + R"("})");
  auto unknown = rh.get(keys_path(kB2Pkh));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, "");
  auto bad = rh.get("/keys/tz1nope");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body.rfind("Failed to parsed an argument in path", 0), 0u) << bad.body;
  EXPECT_EQ(rh.get(keys_path(), "HEAD").status, 200);
}

TEST(Router, KnownKeysIsGated) {
  RouterHarness off;
  auto r = off.get("/known_keys");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, R"([{"kind":"temporary","id":"failure","msg":"List known keys request not allowed."}])");
  RouterOptions ro;
  ro.known_keys = true;
  RouterHarness on({}, ro);
  auto k = on.get("/known_keys");
  EXPECT_EQ(k.status, 200);
  EXPECT_EQ(k.body, R"({"known_keys":[")" + std::string(kB1Pkh) + R"("]})");
}

TEST(Router, AuthorizedKeys) {
  RouterHarness plain;
  auto r = plain.get("/authorized_keys");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{}");
  HarnessOptions o;
  o.auth_required = true;
  o.authorized_keys = {std::string(kB2Pk)};
  RouterHarness authed(o);
  EXPECT_EQ(authed.get("/authorized_keys").body, R"({"authorized_keys":[")" + std::string(kB2Pkh) + R"("]})");
}

TEST(Router, HealthzIsLivenessOnly) {
  RouterHarness rh;  // the required check was never probed: not authorized, but alive
  auto r = rh.get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["alive"], true);
  EXPECT_EQ(rh.get("/healthz", "HEAD").status, 200);
  auto post = rh.post("/healthz", "");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(header(post, "Allow"), "GET");
}

// The health listener answers HAProxy's check and a scraper, and nothing that signs or reads keys.
TEST(HealthRouter, ServesOnlyTheHealthRoutesAndNeverSigns) {
  RouterHarness rh;
  HealthRouter health(rh.router);
  auto get = [&](const std::string& target, std::string method = "GET") {
    return RouterHarness::sent(health.handle(Request{std::move(method), target, "", ""}));
  };
  EXPECT_EQ(get("/authorized").status, 503);  // the required check was never probed
  rh.health.report("ledger", health::ProbeResult{health::State::Ok, "Tezos Baking 2.4.7"});
  auto ok = get("/authorized");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(json::parse(ok.body)["authorized"], true);
  EXPECT_EQ(get("/authorized?from=haproxy").status, 200);
  EXPECT_EQ(get("/healthz").status, 200);
  EXPECT_EQ(get("/healthz", "HEAD").status, 200);
  auto metrics = get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("pisigner_"), std::string::npos);

  const int signs_before = rh.h.key->calls();
  auto sign = RouterHarness::sent(health.handle(Request{"POST", keys_path(), "application/json", jstr(kAttestationHex)}));
  EXPECT_EQ(sign.status, 404);
  EXPECT_NE(sign.body.find("/authorized, /healthz and /metrics only"), std::string::npos) << sign.body;
  EXPECT_EQ(rh.h.key->calls(), signs_before);
  for (const char* target : {"/keys/tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx", "/status", "/authorized_keys", "/known_keys", "/",
                             "/authorizedX", "/metrics/../keys"}) {
    EXPECT_EQ(get(target).status, 404) << target;
  }
  auto post = RouterHarness::sent(health.handle(Request{"POST", "/authorized", "", ""}));
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(header(post, "Allow"), "GET");
  EXPECT_FALSE(health.blocking(Request{"GET", "/authorized", "", ""}));
}

TEST(Router, AuthorizedFollowsTheHealthSnapshot) {
  RouterHarness rh;
  auto unprobed = rh.get("/authorized");
  EXPECT_EQ(unprobed.status, 503);
  json j = json::parse(unprobed.body);
  EXPECT_EQ(j["authorized"], false);
  ASSERT_EQ(j["checks"].size(), 1u);
  EXPECT_EQ(j["checks"][0]["name"], "ledger");
  EXPECT_EQ(j["checks"][0]["required"], true);
  EXPECT_EQ(j["checks"][0]["state"], "unknown");
  EXPECT_TRUE(j["checks"][0]["age_ms"].is_null());

  rh.health.report("ledger", health::ProbeResult{health::State::Ok, "Tezos Baking 2.4.7"});
  rh.h.clock.advance(std::chrono::milliseconds(250));
  auto ok = rh.get("/authorized");
  EXPECT_EQ(ok.status, 200);
  j = json::parse(ok.body);
  EXPECT_EQ(j["authorized"], true);
  EXPECT_EQ(j["summary"], "ok");
  EXPECT_EQ(j["checks"][0]["state"], "ok");
  EXPECT_EQ(j["checks"][0]["detail"], "Tezos Baking 2.4.7");
  EXPECT_EQ(j["checks"][0]["age_ms"], 250);

  rh.h.clock.advance(std::chrono::seconds(5));
  auto stale = rh.get("/authorized");
  EXPECT_EQ(stale.status, 503);
  EXPECT_EQ(json::parse(stale.body)["checks"][0]["state"], "failing");
  EXPECT_EQ(rh.get("/authorized", "HEAD").status, 503);
}

TEST(Router, MetricsExposeSignAndHttpCounters) {
  RouterHarness rh;
  ASSERT_EQ(rh.post(keys_path(), jstr(kAttestationHex)).status, 200);
  ASSERT_EQ(rh.post(keys_path(), jstr("03")).status, 500);
  auto m = rh.get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.content_type, "text/plain; version=0.0.4");
  EXPECT_NE(m.body.find("pisigner_sign_requests_total{kind=\"attestation\",result=\"ok\"} 1\n"), std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("pisigner_http_requests_total{route=\"keys\",method=\"POST\",code=\"500\"} 1\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("# TYPE pisigner_sign_duration_seconds histogram\n"), std::string::npos);
}

// Every distinct label value is a /metrics series kept for the life of the process: a client
// choosing method tokens must not grow it.
TEST(Router, ClientChosenMethodsMapToAFixedLabelSet) {
  RouterHarness rh;
  std::mt19937 rng(13);
  const std::string tchar = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~";
  const char* targets[] = {"/healthz", "/metrics", "/nowhere", "/keys/tz1x"};
  for (int i = 0; i < 1000; ++i) {
    std::string method(1 + rng() % 12, ' ');
    for (auto& c : method) c = tchar[rng() % tchar.size()];
    rh.get(targets[i % 4], method);
  }
  for (const char* m : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get", "BREW"}) {
    rh.get("/healthz", m);
  }
  const std::string body = rh.get("/metrics").body;
  std::set<std::string> series, methods;
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("pisigner_http_requests_total{", 0) != 0) continue;
    series.insert(line.substr(0, line.rfind(' ')));
    const auto at = line.find("method=\"") + 8;
    methods.insert(line.substr(at, line.find('"', at) - at));
  }
  EXPECT_EQ(methods, (std::set<std::string>{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "other"}));
  // 4 routes x 8 methods x the few statuses each can answer.
  EXPECT_LE(series.size(), 4u * 8u * 3u) << body;
}

TEST(Router, UnknownRoutesAre404AndSoftKeySignsRunInline) {
  RouterHarness rh;
  for (const char* t : {"/", "/keys", "/metricsx", "/authorized/extra"}) {
    auto r = rh.get(t);
    EXPECT_EQ(r.status, 404) << t;
    EXPECT_EQ(r.body, "") << t;
  }
  // Only device-backed keys leave the I/O thread; a soft key signs inline, health never blocks.
  EXPECT_FALSE(rh.router.blocking(Request{"POST", keys_path(), "", ""}));
  EXPECT_FALSE(rh.router.blocking(Request{"GET", keys_path(), "", ""}));
  EXPECT_FALSE(rh.router.blocking(Request{"GET", "/authorized", "", ""}));
  EXPECT_FALSE(rh.router.blocking(Request{"POST", "/keys/not-a-pkh", "", ""}));

  // A device-backed key's signs go to the pool (query string or not); its GETs stay inline.
  rh.h.key->set_backend("ledger");
  EXPECT_TRUE(rh.router.blocking(Request{"POST", keys_path(), "", ""}));
  EXPECT_TRUE(rh.router.blocking(Request{"POST", keys_path() + "?version=2", "", ""}));
  EXPECT_FALSE(rh.router.blocking(Request{"GET", keys_path(), "", ""}));
  EXPECT_FALSE(rh.router.blocking(Request{"POST", keys_path(test::kB2Pkh), "", ""}));  // not configured
}

// With the shared watermark every sign waits on etcd: all of them leave the I/O threads, which keep
// answering /authorized.
TEST(Router, WithAClusterEverySignLeavesTheIoThreads) {
  RouterOptions ro;
  ro.every_sign_blocks = true;
  RouterHarness rh({}, ro);
  EXPECT_TRUE(rh.router.blocking(Request{"POST", keys_path(), "", ""}));
  EXPECT_FALSE(rh.router.blocking(Request{"GET", "/authorized", "", ""}));
  EXPECT_FALSE(rh.router.blocking(Request{"GET", keys_path(), "", ""}));
  EXPECT_FALSE(rh.router.blocking(Request{"POST", "/keys/not-a-pkh", "", ""}));
}

// /status's allow_mainnet says whether the key may sign mainnet: a USB Ledger may, a soft key or a
// tcp:// Ledger only with allow_mainnet.
TEST(Router, StatusSaysWhichKeysMaySignMainnet) {
  RouterHarness rh;
  auto mainnet_of = [&] {
    auto r = rh.get("/status");
    EXPECT_EQ(r.status, 200) << r.body;
    return nlohmann::json::parse(r.body)["keys"][0]["allow_mainnet"].get<bool>();
  };
  EXPECT_FALSE(mainnet_of());
  rh.h.key->set_backend("ledger");
  EXPECT_TRUE(mainnet_of());
  rh.h.key->set_hardware(false);
  EXPECT_FALSE(mainnet_of());
}

}  // namespace
}  // namespace pisigner::http
