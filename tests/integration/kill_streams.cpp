#include "kill_streams.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "pisigner/bytes.hpp"
#include "pisigner/crypto/signing.hpp"
#include "pisigner/tezos/secret_key.hpp"
#include "support/daemon.hpp"
#include "support/vledger.hpp"

namespace pisigner::testing {

namespace {

StreamKey soft_key(crypto::Curve curve, std::uint8_t fill) {
  const Bytes secret(32, fill);
  auto sk = crypto::SecretKey::from_bytes(curve, secret);
  if (!sk) throw std::runtime_error("test key: " + sk.error().message);
  auto pk = tezos::PublicKey::from_raw(curve, sk->public_key());
  if (!pk) throw std::runtime_error("test key: " + pk.error().message);
  return StreamKey{pk->hash().to_b58(), tezos::encode_secret_key(*sk), false, *pk};
}

const char* kind_name(int kind) {
  static const char* names[] = {"block", "preattestation", "attestation"};
  return names[kind];
}

tezos::Kind tezos_kind(int kind) {
  static const tezos::Kind kinds[] = {tezos::Kind::Block, tezos::Kind::Preattestation, tezos::Kind::Attestation};
  return kinds[kind];
}

std::string signature_of(const HttpResult& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("signature") || !j["signature"].is_string()) return {};
  return j["signature"].get<std::string>();
}

}  // namespace

std::vector<StreamKey> stream_keys() {
  std::vector<StreamKey> keys;
  auto b1 = tezos::parse_secret_key(kBootstrap1Sk);
  if (!b1) throw std::runtime_error("bootstrap1: " + b1.error().message);
  auto b1pk = tezos::PublicKey::from_raw(crypto::Curve::Ed25519, b1->public_key());
  keys.push_back(StreamKey{kBootstrap1Pkh, kBootstrap1Sk, false, *b1pk});
  keys.push_back(soft_key(crypto::Curve::Secp256k1, 0x11));
  keys.push_back(soft_key(crypto::Curve::P256, 0x22));
  keys.push_back(StreamKey{kZebraTz1, {}, true, std::nullopt});
  return keys;
}

bool Ledger::record(const std::string& pkh, const std::string& chain, int kind, std::int32_t level,
                    std::int32_t round, const std::string& payload, const std::string& signature) {
  std::lock_guard lock(mu_);
  auto [it, fresh] = slots_.try_emplace({pkh, chain, kind, level, round}, payload, signature);
  if (fresh || (it->second.first == payload && it->second.second == signature)) return true;
  ++doubles_;
  ADD_FAILURE() << pkh << " " << chain << " " << kind_name(kind) << " (" << level << "," << round << "): "
                << (it->second.first != payload ? "two payloads signed" : "two signatures of one payload");
  return false;
}

std::uint64_t Ledger::double_signed() const {
  std::lock_guard lock(mu_);
  return doubles_;
}

Stream::Sent Stream::make(int kind, std::int32_t level, std::int32_t round, std::uint8_t variant) const {
  std::string hex = kind == 0 ? block_hex(level, round, variant)
                    : kind == 1 ? preattestation_hex(level, round, variant)
                                : attestation_hex(level, round, variant);
  hex.replace(2, 8, chain_);  // the chain id follows the magic byte in all three
  return Sent{kind, level, round, std::move(hex)};
}

HttpResult Stream::post(HttpClient& c, const Sent& s) const {
  return c.request("POST", "/keys/" + key_.pkh, "\"" + s.payload + "\"", "application/json", std::chrono::seconds(5));
}

bool Stream::verify(HttpClient& c, const Sent& s, const std::string& signature) {
  if (!key_.public_key) {
    auto r = c.get("/keys/" + key_.pkh);
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (r.status != 200 || !j.contains("public_key")) return false;
    auto pk = tezos::PublicKey::parse(j["public_key"].get<std::string>());
    if (!pk) return false;
    key_.public_key = *pk;
  }
  auto sig = tezos::Signature::parse(signature);
  auto bytes = from_hex(s.payload);
  return sig && bytes && tezos::verify(*key_.public_key, *bytes, *sig);
}

// A fresh payload at a slot this stream never had answered: 200 with a valid signature, or the
// daemon died (pending until the restart), or 503 (pending too).
Stream::Outcome Stream::sign_new(HttpClient& c, const Sent& s, Ledger& ledger, Counters& n) {
  auto r = post(c, s);
  if (r.status == 0 || r.status == 503) {
    if (r.status == 503) ++n.unavailable;
    pending_ = s;
    return Outcome::Dead;
  }
  pending_.reset();
  if (r.status != 200) return Outcome::Refused;
  const std::string sig = signature_of(r);
  if (!verify(c, s, sig)) {
    ADD_FAILURE() << key_.pkh << ": invalid signature " << r.body;
    ++n.regressions;
  }
  if (!ledger.record(key_.pkh, chain_, s.kind, s.level, s.round, s.payload, sig)) ++n.regressions;
  ++n.signatures;
  last_ = {s, sig};
  auto& h = highest_[s.kind];
  h = std::max(h, std::pair(s.level, s.round));
  return Outcome::Answered;
}

bool Stream::restart_checks(HttpClient& c, Ledger& ledger, Counters& n) {
  if (pending_) {
    const Sent s = *pending_;
    switch (sign_new(c, s, ledger, n)) {
      case Outcome::Dead: return false;
      case Outcome::Answered: break;
      case Outcome::Refused:
        // Only a device may refuse it: it signed (and moved its own watermark) before the kill.
        if (key_.ledger) {
          ++n.unanswered_refused;
        } else {
          ADD_FAILURE() << key_.pkh << ": retry of an unanswered " << kind_name(s.kind) << " refused";
          ++n.regressions;
        }
        break;
    }
  }
  if (!last_) return true;
  const auto [s, sig] = *last_;
  auto again = post(c, s);  // byte-identical: the stored signature, or the same one signed again
  if (again.status == 0 || again.status == 503) return false;
  if (again.status != 200 || signature_of(again) != sig) {
    ADD_FAILURE() << key_.pkh << " " << chain_ << ": identical retry of " << kind_name(s.kind) << " (" << s.level << ","
                  << s.round << ") after restart answered " << again.status << " " << again.body;
    ++n.regressions;
  } else {
    ++n.retries_ok;
  }
  const Sent other = make(s.kind, s.level, s.round, 0x55);  // other bytes at an answered slot
  auto probe = post(c, other);
  if (probe.status == 0) return false;
  if (probe.status == 200) {
    ADD_FAILURE() << key_.pkh << ": other bytes signed at an answered slot";
    ++n.regressions;
    (void)ledger.record(key_.pkh, chain_, s.kind, s.level, s.round, other.payload, signature_of(probe));
  } else {
    ++n.refusals;
  }
  return true;
}

void Stream::run(HttpClient& c, std::mt19937& rng, const std::atomic<bool>& stop, Ledger& ledger, Counters& n) {
  if (!restart_checks(c, ledger, n)) return;
  while (!stop.load()) {
    if (next_kind_ == 0) {  // a new slot: the next level, or a higher round of this one
      if (level_ == 0 || rng() % 3 != 0) {
        ++level_;
        round_ = static_cast<std::int32_t>(rng() % 2);
      } else {
        ++round_;
      }
    }
    const Sent s = make(next_kind_, level_, round_, 0);
    next_kind_ = (next_kind_ + 1) % 3;
    const Outcome out = sign_new(c, s, ledger, n);
    if (out == Outcome::Dead) return;
    if (out == Outcome::Refused) {
      ADD_FAILURE() << key_.pkh << " " << chain_ << ": rising " << kind_name(s.kind) << " (" << s.level << ","
                    << s.round << ") refused";
      ++n.unexpected;
    }
    if (rng() % 20 == 0 && !restart_checks(c, ledger, n)) return;  // retries and probes mid-stream too
  }
}

void Stream::settle(HttpClient& c, Ledger& ledger, Counters& n) {
  if (!restart_checks(c, ledger, n)) {
    ADD_FAILURE() << key_.pkh << ": daemon unavailable for the final checks";
  }
  if (pending_) {
    ADD_FAILURE() << key_.pkh << ": a request stayed unresolved";
  }
}

std::uint64_t Stream::check_covered(const std::map<hwm::HwmKey, hwm::Record>& stored) const {
  std::uint64_t bad = 0;
  auto pkh = tezos::PublicKeyHash::parse(key_.pkh);
  auto chain_bytes = from_hex(chain_);
  tezos::ChainId chain;
  std::copy(chain_bytes->begin(), chain_bytes->end(), chain.bytes.begin());
  for (const auto& [kind, slot] : highest_) {
    auto it = stored.find(hwm::HwmKey{tezos_kind(kind), chain, *pkh});
    const bool covered = it != stored.end() &&
                         std::pair(it->second.level, it->second.round.value_or(0)) >= slot;
    if (!covered) {
      ADD_FAILURE() << key_.pkh << " " << chain_ << " " << kind_name(kind) << " (" << slot.first << ","
                    << slot.second << ") received but not covered by the stored watermark";
      ++bad;
    }
  }
  return bad;
}

}  // namespace pisigner::testing
