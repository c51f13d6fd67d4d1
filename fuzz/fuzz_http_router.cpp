// The HTTP request path up to the sign decision: the real Router over the real Signer (policy,
// authentication, watermark extraction, the HWM rules on a memory store) with three soft keys
// (tz1, tz2, tz3) held in memory.
// Input: byte 0 sets options (bit 0: authentication required; bit 1: every magic byte allowed);
// then up to 8 requests, each two lines: "METHOD TARGET [CONTENT-TYPE]" and the body. A body line
// starting with '!' carries raw payload bytes, sent as octez does ("<hex>"), so mutations reach the
// payload's fields (levels, rounds, chains) directly; its bytes cannot include a newline.
// Properties: nothing crashes or throws out of handle(); every reply has a known status, and a JSON
// reply parses; no key ever signs two different payloads at one (kind, chain, level, round) or
// signs below a watermark it already signed (checked at the key, whatever the layers above said).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "fuzz_check.hpp"
#include "pisigner/clock.hpp"
#include "pisigner/core/signer.hpp"
#include "pisigner/health/health.hpp"
#include "pisigner/http/router.hpp"
#include "pisigner/hwm/store.hpp"
#include "pisigner/hwm/watermarks.hpp"
#include "pisigner/keys/registry.hpp"
#include "pisigner/keys/soft_key.hpp"
#include "pisigner/tezos/watermark.hpp"

using namespace pisigner;

namespace {
// tezt bootstrap1 and the octez key encoding vectors (tests/tezos/keys_test.cpp).
constexpr std::string_view kSecretKeys[] = {
    "unencrypted:edsk3gUfUPyBSfrS9CCgmCiQsTCHGkviBDusMxDJstFtojtc1zcpsh",
    "unencrypted:spsk2oCGdj7yZFmAWr1wqopU512kDtCfWfs7N4FoRH6bkHhgXk5Tu5",
    "unencrypted:p2sk2g5Btw8MK7fnhQg9d7DaE8QYX8A89BLWaqWTQcHuATYY3ABjD9",
};
// bootstrap2 authenticates requests when authentication is required.
constexpr std::string_view kAuthorizedKey = "edpktzNbDAUjUk697W7gYg2CRuBQjyPxbEg8dLccYYwKSKvkPvjtV9";

// The double-signing oracle: a soft key that remembers, per (kind, chain), the highest slot it signed.
class WatchedKey final : public keys::Key {
 public:
  explicit WatchedKey(std::string_view uri) : inner_(keys::SoftKey::load(uri, std::nullopt).value()) {}
  const tezos::PublicKeyHash& pkh() const override { return inner_->pkh(); }
  std::optional<tezos::PublicKey> public_key() const override { return inner_->public_key(); }
  std::string backend() const override { return "soft"; }
  bool deterministic() const override { return true; }
  Result<tezos::Signature, keys::KeyError> sign(ByteView payload, const crypto::Digest32& digest) override {
    auto wm = tezos::extract_watermark(payload, inner_->pkh().curve);
    FUZZ_CHECK(wm.ok());  // the pipeline refuses what it cannot read before it reaches a key
    if (*wm) {
      std::lock_guard lock(mu_);
      const auto& w = **wm;
      auto [it, fresh] = signed_.try_emplace({w.kind, w.chain}, Slot{w.level, w.round, digest});
      if (!fresh) {
        Slot& s = it->second;
        const std::int32_t round = w.round.value_or(0);
        const bool same = w.level == s.level && (!s.round || round == *s.round);
        const bool lower = w.level < s.level || (w.level == s.level && s.round && round < *s.round);
        FUZZ_CHECK(!lower);
        FUZZ_CHECK(!same || s.hash == digest);
        if (!same) s = Slot{w.level, w.round, digest};
      }
    }
    return inner_->sign(payload, digest);
  }
  void forget() { signed_.clear(); }

 private:
  struct Slot {
    std::int32_t level;
    std::optional<std::int32_t> round;
    crypto::Digest32 hash;
  };
  std::unique_ptr<keys::SoftKey> inner_;
  std::mutex mu_;
  std::map<std::tuple<tezos::Kind, tezos::ChainId>, Slot> signed_;
};

struct Fixed {
  std::vector<WatchedKey*> watched;
  keys::Registry registry;
  policy::Authenticator open = policy::Authenticator::build(false, {}).value();
  policy::Authenticator closed = policy::Authenticator::build(true, {std::string(kAuthorizedKey)}).value();
  policy::Policy baking{policy::PolicyConfig{}};
  policy::Policy any{policy::PolicyConfig{{0x01, 0x02, 0x03, 0x04, 0x05, 0x11, 0x12, 0x13}, {}}};

  Fixed() {
    spdlog::set_level(spdlog::level::off);  // one log line per signature would cost most of a run
    std::vector<keys::KeyEntry> entries;
    for (auto sk : kSecretKeys) {
      auto k = std::make_unique<WatchedKey>(sk);
      watched.push_back(k.get());
      entries.push_back(keys::KeyEntry{std::move(k), false});
    }
    registry = keys::Registry::build(std::move(entries)).value();
  }
};

std::string_view line(std::string_view& rest) {
  const auto nl = rest.find('\n');
  std::string_view l = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  return l;
}

http::Request request_of(std::string_view head, std::string_view body) {
  http::Request r;
  const auto sp1 = head.find(' ');
  r.method = std::string(head.substr(0, sp1));
  if (sp1 != std::string_view::npos) {
    std::string_view rest = head.substr(sp1 + 1);
    const auto sp2 = rest.find(' ');
    r.target = std::string(rest.substr(0, sp2));
    if (sp2 != std::string_view::npos) r.content_type = std::string(rest.substr(sp2 + 1));
  }
  if (!body.empty() && body[0] == '!') {
    body.remove_prefix(1);
    r.body = "\"" + to_hex(ByteView(reinterpret_cast<const std::uint8_t*>(body.data()), body.size())) + "\"";
  } else {
    r.body = std::string(body);
  }
  return r;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static Fixed fixed;
  for (auto* k : fixed.watched) k->forget();  // each input starts from an empty store

  auto store = hwm::make_memory_store();
  hwm::Watermarks watermarks(*store);
  metrics::Registry metrics;
  ManualClock clock;
  core::Signer signer(fixed.registry, (data[0] & 2) ? fixed.any : fixed.baking, (data[0] & 1) ? fixed.closed : fixed.open,
                      watermarks, metrics, clock);
  health::Health health(clock, std::chrono::milliseconds(1000), std::chrono::milliseconds(3000));
  health.add("ledger", true);
  http::Router router(signer, health, metrics, http::RouterOptions{true, {}, false});

  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  for (int i = 0; i < 8 && !rest.empty(); ++i) {
    const std::string_view head = line(rest);
    const std::string_view body = line(rest);
    const http::Request req = request_of(head, body);
    http::Response r = router.handle(req);
    if (r.after_send) r.after_send();
    static const int kKnown[] = {200, 400, 401, 403, 404, 405, 409, 413, 415, 500, 503};
    FUZZ_CHECK(std::find(std::begin(kKnown), std::end(kKnown), r.status) != std::end(kKnown));
    if (r.content_type == "application/json" && !r.body.empty()) {
      FUZZ_CHECK(!nlohmann::json::parse(r.body, nullptr, false).is_discarded());
    }
    (void)router.blocking(req);
  }
  return 0;
}
