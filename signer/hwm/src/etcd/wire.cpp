#include "pisigner/hwm/etcd/wire.hpp"

#include <charconv>
#include <limits>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "pisigner/bytes.hpp"

namespace pisigner::hwm::etcd {
namespace {

using nlohmann::json;

// Replies are bounded by the client; this bounds what a hostile member can make us allocate while parsing.
constexpr std::size_t kMaxValueBytes = 4096;

WireError bad(std::string what) { return WireError{"etcd reply: " + std::move(what)}; }

Result<json, WireError> parse_object(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail(bad("not JSON"));
  if (!j.is_object()) return fail(bad("not a JSON object"));
  return j;
}

// int64 fields come back as JSON strings ("revision":"3"); zero values are omitted.
template <class Int>
Result<Int, WireError> int_field(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return Int{0};
  if (it->is_number_integer()) {
    if (it->is_number_unsigned()) {
      const auto v = it->get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(std::numeric_limits<Int>::max())) return fail(bad(std::string(name) + " out of range"));
      return static_cast<Int>(v);
    }
    const auto v = it->get<std::int64_t>();
    if (v < 0 || static_cast<std::uint64_t>(v) > static_cast<std::uint64_t>(std::numeric_limits<Int>::max())) {
      return fail(bad(std::string(name) + " out of range"));
    }
    return static_cast<Int>(v);
  }
  if (!it->is_string()) return fail(bad(std::string(name) + " is not a number"));
  const auto& text = it->get_ref<const std::string&>();
  Int v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return fail(bad(std::string(name) + " is not a number: " + text.substr(0, 32)));
  }
  return v;
}

Result<Header, WireError> header_of(const json& obj) {
  auto it = obj.find("header");
  if (it == obj.end() || !it->is_object()) return fail(bad("no header"));
  Header h;
  auto member = int_field<std::uint64_t>(*it, "member_id");
  auto revision = int_field<std::int64_t>(*it, "revision");
  auto term = int_field<std::int64_t>(*it, "raft_term");
  if (!member) return fail(member.error());
  if (!revision) return fail(revision.error());
  if (!term) return fail(term.error());
  h.member_id = *member;
  h.revision = *revision;
  h.raft_term = *term;
  return h;
}

Result<std::string, WireError> b64_field(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) return std::string();  // empty values are omitted
  if (!it->is_string()) return fail(bad(std::string(name) + " is not a string"));
  return unbase64(it->get_ref<const std::string&>());
}

Result<KeyValue, WireError> kv_of(const json& j) {
  if (!j.is_object()) return fail(bad("kv is not an object"));
  KeyValue kv;
  auto key = b64_field(j, "key");
  if (!key) return fail(key.error());
  auto value = b64_field(j, "value");
  if (!value) return fail(value.error());
  if (value->size() > kMaxValueBytes) return fail(bad("value larger than " + std::to_string(kMaxValueBytes) + " bytes"));
  auto created = int_field<std::int64_t>(j, "create_revision");
  auto modified = int_field<std::int64_t>(j, "mod_revision");
  if (!created) return fail(created.error());
  if (!modified) return fail(modified.error());
  if (*modified <= 0) return fail(bad("kv without mod_revision"));
  kv.key = std::move(*key);
  kv.value = std::move(*value);
  kv.create_revision = *created;
  kv.mod_revision = *modified;
  return kv;
}

Result<std::vector<KeyValue>, WireError> kvs_of(const json& obj) {
  std::vector<KeyValue> out;
  auto it = obj.find("kvs");
  if (it == obj.end()) return out;
  if (!it->is_array()) return fail(bad("kvs is not an array"));
  for (const auto& item : *it) {
    auto kv = kv_of(item);
    if (!kv) return fail(kv.error());
    out.push_back(std::move(*kv));
  }
  return out;
}

// A txn reply whose failure branch ranged `ranges` keys, one range each.
Result<BatchTxnReply, WireError> txn_of(const json& j, std::size_t ranges) {
  BatchTxnReply r;
  auto h = header_of(j);
  if (!h) return fail(h.error());
  r.header = *h;
  if (auto it = j.find("succeeded"); it != j.end()) {
    if (!it->is_boolean()) return fail(bad("succeeded is not a boolean"));
    r.succeeded = it->get<bool>();
  }
  if (r.succeeded) {
    if (r.header.revision <= 0) return fail(bad("txn succeeded without a revision"));
    return r;
  }
  // A failed compare: the failure branch ranged every key.
  auto responses = j.find("responses");
  if (responses == j.end() || !responses->is_array() || responses->size() != ranges) {
    return fail(bad("failed txn without the failure branch's " + std::to_string(ranges) + " range(s)"));
  }
  for (const auto& response : *responses) {
    if (!response.is_object()) return fail(bad("failed txn without the failure branch's range"));
    auto range = response.find("response_range");
    if (range == response.end() || !range->is_object()) return fail(bad("failed txn without response_range"));
    auto kvs = kvs_of(*range);
    if (!kvs) return fail(kvs.error());
    if (kvs->size() > 1) return fail(bad("range of one key returned several"));
    r.current.push_back(kvs->empty() ? std::nullopt : std::optional<KeyValue>(std::move(kvs->front())));
  }
  return r;
}

std::string str(std::int64_t v) { return std::to_string(v); }

}  // namespace

std::string base64(std::string_view bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

Result<std::string, WireError> unbase64(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return fail(bad("invalid base64"));
  }
  out.resize(len);
  return out;
}

std::string range_body(std::string_view key, bool serializable) {
  json j{{"key", base64(key)}};
  if (serializable) j["serializable"] = true;
  return j.dump();
}

std::string prefix_range_body(std::string_view prefix) {
  std::string end(prefix);
  // The prefix is ASCII: its last byte + 1 ends the range.
  if (!end.empty()) end.back() = static_cast<char>(end.back() + 1);
  return json{{"key", base64(prefix)}, {"range_end", base64(end)}}.dump();
}

std::string cas_body(std::string_view key, std::int64_t mod_revision, std::string_view value) {
  const CasOp op{std::string(key), mod_revision, std::string(value)};
  return cas_batch_body(std::span<const CasOp>(&op, 1));
}

std::string cas_batch_body(std::span<const CasOp> ops) {
  json compare = json::array(), success = json::array(), failure = json::array();
  for (const CasOp& op : ops) {
    const std::string k = base64(op.key);
    compare.push_back(op.mod_revision == 0
                          ? json{{"target", "CREATE"}, {"key", k}, {"create_revision", "0"}, {"result", "EQUAL"}}
                          : json{{"target", "MOD"}, {"key", k}, {"mod_revision", str(op.mod_revision)},
                                 {"result", "EQUAL"}});
    success.push_back(json{{"request_put", {{"key", k}, {"value", base64(op.value)}}}});
    failure.push_back(json{{"request_range", {{"key", k}}}});
  }
  return json{{"compare", std::move(compare)}, {"success", std::move(success)}, {"failure", std::move(failure)}}.dump();
}

std::string put_body(std::string_view key, std::string_view value) {
  return json{{"key", base64(key)}, {"value", base64(value)}}.dump();
}

std::string authenticate_body(std::string_view user, std::string_view password) {
  return json{{"name", std::string(user)}, {"password", std::string(password)}}.dump();
}

Result<RangeReply, WireError> parse_range(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return fail(j.error());
  RangeReply r;
  auto h = header_of(*j);
  if (!h) return fail(h.error());
  auto kvs = kvs_of(*j);
  if (!kvs) return fail(kvs.error());
  r.header = *h;
  r.kvs = std::move(*kvs);
  return r;
}

Result<TxnReply, WireError> parse_txn(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return fail(j.error());
  auto r = txn_of(*j, 1);
  if (!r) return fail(r.error());
  TxnReply one{r->header, r->succeeded, std::nullopt};
  if (!r->succeeded) one.current = std::move(r->current.front());
  return one;
}

Result<BatchTxnReply, WireError> parse_batch_txn(std::string_view body, std::span<const CasOp> ops) {
  auto j = parse_object(body);
  if (!j) return fail(j.error());
  auto r = txn_of(*j, ops.size());
  if (!r) return fail(r.error());
  for (std::size_t i = 0; i < r->current.size(); ++i) {
    if (r->current[i] && r->current[i]->key != ops[i].key) return fail(bad("the failure branch returned another key"));
  }
  return std::move(*r);
}

Result<Header, WireError> parse_put(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return fail(j.error());
  return header_of(*j);
}

Result<std::string, WireError> parse_token(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return fail(j.error());
  auto it = j->find("token");
  if (it == j->end() || !it->is_string() || it->get_ref<const std::string&>().empty()) return fail(bad("no token"));
  const auto& token = it->get_ref<const std::string&>();
  if (token.size() > 4096) return fail(bad("token too long"));
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) return fail(bad("token is not printable ASCII"));  // it goes into a header
  }
  return token;
}

Result<StatusReply, WireError> parse_status(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return fail(j.error());
  StatusReply s;
  auto h = header_of(*j);
  if (!h) return fail(h.error());
  s.header = *h;
  auto leader = int_field<std::uint64_t>(*j, "leader");
  auto size = int_field<std::int64_t>(*j, "db_size");
  if (!leader) return fail(leader.error());
  if (!size) return fail(size.error());
  s.leader = *leader;
  s.db_size = *size;
  if (auto it = j->find("raft_term"); it != j->end()) {
    auto term = int_field<std::int64_t>(*j, "raft_term");
    if (!term) return fail(term.error());
    s.header.raft_term = *term;
  }
  if (auto it = j->find("version"); it != j->end() && it->is_string()) s.version = it->get<std::string>().substr(0, 32);
  if (auto it = j->find("errors"); it != j->end() && it->is_array()) {
    for (const auto& e : *it) {
      if (e.is_string() && s.errors.size() < 8) s.errors.push_back(e.get<std::string>().substr(0, 200));
    }
  }
  return s;
}

std::optional<ErrorReply> parse_error(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  ErrorReply e;
  auto code = j.find("code");
  if (code == j.end() || !code->is_number_integer()) return std::nullopt;
  e.code = static_cast<int>(code->get<std::int64_t>());
  for (const char* name : {"message", "error"}) {
    if (auto it = j.find(name); it != j.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
      e.message = it->get<std::string>().substr(0, 300);
      break;
    }
  }
  return e;
}

std::string record_key(const HwmKey& key) {
  return std::string(kKeyPrefix) + "v1/" + std::string(tezos::kind_name(key.kind)) + "/" + key.chain.to_b58() + "/" +
         key.pkh.to_b58();
}

Result<HwmKey, WireError> parse_record_key(std::string_view key) {
  const std::string head = std::string(kKeyPrefix) + "v1/";
  if (key.substr(0, head.size()) != head) return fail(WireError{"not an HWM key: " + std::string(key.substr(0, 80))});
  std::string_view rest = key.substr(head.size());
  std::vector<std::string_view> parts;
  while (!rest.empty() && parts.size() < 4) {
    auto slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  if (parts.size() != 3 || !rest.empty()) return fail(WireError{"malformed HWM key: " + std::string(key.substr(0, 80))});
  auto kind = tezos::parse_kind(parts[0]);
  auto chain = tezos::ChainId::parse(parts[1]);
  auto pkh = tezos::PublicKeyHash::parse(parts[2]);
  if (!kind || !chain || !pkh) return fail(WireError{"malformed HWM key: " + std::string(key.substr(0, 80))});
  return HwmKey{*kind, *chain, *pkh};
}

std::string encode_record(const Record& record, std::string_view node, std::int64_t unix_ms) {
  // Built by hand for a fixed field order (nlohmann::json sorts keys).
  std::string out = R"({"v":1,"level":)" + std::to_string(record.level);
  if (record.round) out += R"(,"round":)" + std::to_string(*record.round);
  out += R"(,"hash":")" + to_hex(ByteView(record.hash.data(), record.hash.size())) + '"';
  if (record.signature) out += R"(,"sig":)" + json(*record.signature).dump();
  out += R"(,"node":)" + json(std::string(node)).dump() + R"(,"ts":)" + std::to_string(unix_ms) + "}";
  return out;
}

Result<StoredRecord, WireError> decode_record(std::string_view value) {
  auto invalid = [](const std::string& why) { return WireError{"HWM record in etcd: " + why}; };
  json j = json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(invalid("not a JSON object"));
  try {
    if (j.value("v", json()) != json(1)) return fail(invalid("unknown version"));
    StoredRecord s;
    const auto& level = j.at("level");
    if (!level.is_number_integer() || level.get<std::int64_t>() < 0 ||
        level.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
      return fail(invalid("bad level"));
    }
    s.record.level = static_cast<std::int32_t>(level.get<std::int64_t>());
    if (auto it = j.find("round"); it != j.end()) {
      if (!it->is_number_integer() || it->get<std::int64_t>() < 0 ||
          it->get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
        return fail(invalid("bad round"));
      }
      s.record.round = static_cast<std::int32_t>(it->get<std::int64_t>());
    }
    const auto& hash = j.at("hash");
    auto bytes = hash.is_string() ? from_hex(hash.get_ref<const std::string&>()) : std::nullopt;
    if (!bytes || bytes->size() != s.record.hash.size()) return fail(invalid("bad hash"));
    std::copy(bytes->begin(), bytes->end(), s.record.hash.begin());
    if (auto it = j.find("sig"); it != j.end()) {
      if (!it->is_string() || it->get_ref<const std::string&>().empty() || it->get_ref<const std::string&>().size() > 256) {
        return fail(invalid("bad sig"));
      }
      if (!tezos::Signature::parse(it->get_ref<const std::string&>())) return fail(invalid("sig is not a signature"));
      s.record.signature = it->get<std::string>();
    }
    if (auto it = j.find("node"); it != j.end() && it->is_string()) s.node = it->get<std::string>().substr(0, 64);
    if (auto it = j.find("ts"); it != j.end() && it->is_number_integer()) s.unix_ms = it->get<std::int64_t>();
    return s;
  } catch (const json::exception&) {
    return fail(invalid("missing or mistyped field"));
  }
}

}  // namespace pisigner::hwm::etcd
