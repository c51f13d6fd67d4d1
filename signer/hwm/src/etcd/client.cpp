#include "pisigner/hwm/etcd/client.hpp"

#include <atomic>
#include <mutex>

#include <boost/beast/http/message.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "connection.hpp"

namespace pisigner::hwm::etcd {

namespace http = boost::beast::http;

namespace {
constexpr int kGrpcUnauthenticated = 16;
constexpr int kGrpcResourceExhausted = 8;
constexpr std::size_t kMaxIdlePerMember = 16;
// A member that let a deadline pass is asked after the others for this long, or until it answers a call
// (the daemon's member-status loop asks every member every 2 s). A cut-off member's silence costs a
// whole socket deadline per call; a member's election takes at most two election timeouts.
constexpr std::chrono::seconds kSilentFor{10};
// etcd's answer under Grpc-Metadata-hasleader when the member has no leader: refused before it
// reached raft, so a write is safe to send to another member.
constexpr const char* kNoLeader = "etcdserver: no leader";

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// What a non-200 reply says: the gateway's error message, else a printable excerpt of the body.
std::string reason(const HttpReply& reply) {
  if (auto e = parse_error(reply.body)) return e->message;
  std::string text;
  for (char c : reply.body.substr(0, 200)) text += (c >= 0x20 && c < 0x7f) ? c : '?';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text.empty() ? "HTTP " + std::to_string(reply.status) : text;
}

// What a failed call means for the caller. A call that never sent its request applied nothing.
struct CallError {
  enum class Kind { NotSent, NoLeader, Unknown, AuthExpired, NoSpace, Rejected };
  Kind kind = Kind::Unknown;
  std::string message;
};
}  // namespace

struct Client::Impl {
  ClientOptions options;
  boost::asio::ssl::context tls{boost::asio::ssl::context::tls_client};
  std::vector<Endpoint> endpoints;

  std::mutex mu;
  std::vector<std::vector<std::unique_ptr<Connection>>> idle;  // per member; guarded by mu
  std::string token;                                            // guarded by mu
  std::atomic<std::size_t> preferred{0};
  std::atomic<std::uint64_t> calls{0}, failovers{0}, reauths{0};
  // Per member: steady-clock time (ns) until which it counts as silent; 0 once it answers.
  std::unique_ptr<std::atomic<std::int64_t>[]> silent_until;

  static std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  bool silent(std::size_t member) const { return now_ns() < silent_until[member].load(); }
  void answered(std::size_t member) { silent_until[member] = 0; }
  // Its pooled connections go through the same dead path: closed, so the next call after the
  // silence connects anew (connect deadline) instead of waiting a whole call deadline on one.
  void went_silent(std::size_t member) {
    silent_until[member] = now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(kSilentFor).count();
    std::lock_guard lock(mu);
    idle[member].clear();
  }

  void prefer_nearer(std::size_t member) {
    std::size_t current = preferred.load();
    while (member < current && !preferred.compare_exchange_weak(current, member)) {
    }
  }

  std::unique_ptr<Connection> take(std::size_t member) {
    std::lock_guard lock(mu);
    auto& pool = idle[member];
    if (pool.empty()) return nullptr;
    auto c = std::move(pool.back());
    pool.pop_back();
    return c;
  }
  void give_back(std::size_t member, std::unique_ptr<Connection> c) {
    std::lock_guard lock(mu);
    if (idle[member].size() < kMaxIdlePerMember) idle[member].push_back(std::move(c));
  }
  std::string current_token() {
    std::lock_guard lock(mu);
    return token;
  }

  http::request<http::string_body> make_request(const Endpoint& ep, const std::string& path, std::string body,
                                                const std::string& auth) const {
    http::request<http::string_body> req{http::verb::post, path, 11};
    req.set(http::field::host, ep.host + ":" + ep.port);
    req.set(http::field::content_type, "application/json");
    req.set("Grpc-Timeout", std::to_string(options.call_timeout.count()) + "m");
    req.set("Grpc-Metadata-hasleader", "true");  // a member without a leader fails fast (503)
    if (!auth.empty()) req.set(http::field::authorization, auth);
    req.keep_alive(true);
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
  }

  // One HTTP exchange with `member`, on a pooled connection or a new one.
  Result<HttpReply, ExchangeError> exchange(std::size_t member, const std::string& path, const std::string& body,
                                            const std::string& auth) {
    ++calls;
    const Endpoint& ep = endpoints[member];
    auto conn = take(member);
    if (!conn) {
      conn = std::make_unique<Connection>(tls, ep);
      if (auto opened = conn->open(options.connect_timeout); !opened) {
        if (opened.error().timed_out) went_silent(member);
        return fail(opened.error());
      }
    }
    auto reply = conn->exchange(make_request(ep, path, body, auth), options.call_timeout + std::chrono::milliseconds(250),
                                options.max_reply_bytes);
    if (!reply) {
      // A stale pooled connection the member closed fails at once: only a deadline means silence.
      if (reply.error().timed_out) went_silent(member);
      return reply;
    }
    answered(member);
    if (conn->reusable()) give_back(member, std::move(conn));
    return reply;
  }

  Result<void, CallError> authenticate(std::size_t member) {
    auto reply = exchange(member, "/v3/auth/authenticate", authenticate_body(options.user, options.password), {});
    if (!reply) return fail(CallError{reply.error().sent ? CallError::Kind::Rejected : CallError::Kind::NotSent,
                                      "authenticate: " + reply.error().message});
    if (reply->status != 200) {
      return fail(CallError{CallError::Kind::Rejected, endpoints[member].url + ": authenticate as " + options.user +
                                                           " refused: HTTP " + std::to_string(reply->status) + " " +
                                                           reason(*reply)});
    }
    auto token = parse_token(reply->body);
    if (!token) return fail(CallError{CallError::Kind::Rejected, token.error().message});
    ++reauths;
    std::lock_guard lock(mu);
    this->token = std::move(*token);
    return {};
  }

  // A call to one member, authenticating first if needed and once more if the token was lost.
  Result<std::string, CallError> call(std::size_t member, const std::string& path, const std::string& body) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::string token;
      if (!options.user.empty()) {
        token = current_token();
        if (token.empty()) {
          if (auto a = authenticate(member); !a) return fail(a.error());
          token = current_token();
        }
      }
      auto reply = exchange(member, path, body, token);
      if (!reply) {
        return fail(CallError{reply.error().sent ? CallError::Kind::Unknown : CallError::Kind::NotSent,
                              reply.error().message});
      }
      if (reply->status == 200) return std::move(reply->body);
      const auto e = parse_error(reply->body);
      const std::string why = endpoints[member].url + path + ": HTTP " + std::to_string(reply->status) + " " +
                              reason(*reply);
      if (reply->status == 401 || (e && e->code == kGrpcUnauthenticated)) {
        // Tokens die with a member restart (simple tokens): nothing was applied; authenticate again.
        std::lock_guard lock(mu);
        if (this->token == token) this->token.clear();
        if (attempt == 0 && !options.user.empty()) continue;
        return fail(CallError{CallError::Kind::AuthExpired, why});
      }
      if (reply->status == 503 && e && e->message == kNoLeader) return fail(CallError{CallError::Kind::NoLeader, why});
      if (reply->status == 429 || (e && e->code == kGrpcResourceExhausted)) {
        return fail(CallError{CallError::Kind::NoSpace, why + " (NOSPACE alarm: compact, defrag, alarm disarm)"});
      }
      if (reply->status == 400 || reply->status == 403 || reply->status == 404) {
        return fail(CallError{CallError::Kind::Rejected, why});
      }
      return fail(CallError{CallError::Kind::Unknown, why});  // 5xx, 504, anything else
    }
    return fail(CallError{CallError::Kind::AuthExpired, "authentication lost twice"});
  }

  // Members in the order to ask them: the preferred one, then the others in turn; silent ones
  // after all that answer.
  std::vector<std::size_t> ask_order() const {
    const std::size_t n = endpoints.size();
    const std::size_t first = preferred.load();
    std::vector<std::size_t> order;
    order.reserve(n);
    for (int pass = 0; pass < 2; ++pass) {
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t member = (first + i) % n;
        if (silent(member) == (pass == 1)) order.push_back(member);
      }
    }
    return order;
  }

  // A call to each member in ask_order() until one answers. A read moves on after any failure; a
  // write only while nothing can have been applied (never sent, or refused for want of a leader).
  Result<std::string, KvError> over_members(const std::string& path, const std::string& body, bool write) {
    std::string errors;
    const std::size_t n = endpoints.size();
    const auto order = ask_order();
    for (const std::size_t member : order) {
      auto r = call(member, path, body);
      if (r) {
        if (member != preferred.load()) {
          preferred = member;
          ++failovers;
        }
        return std::move(*r);
      }
      errors += (errors.empty() ? "" : "; ") + r.error().message;
      const auto kind = r.error().kind;
      if (kind == CallError::Kind::NoSpace) return fail(KvError{KvError::Code::NoSpace, r.error().message});
      if (!write || kind == CallError::Kind::NotSent || kind == CallError::Kind::NoLeader) continue;
      if (kind == CallError::Kind::Unknown) {
        preferred = (member + 1) % n;  // the re-read that resolves it goes elsewhere first
        return fail(KvError{KvError::Code::Unknown, errors});
      }
      return fail(KvError{KvError::Code::NotApplied, errors});  // refused: credentials, RBAC, our request
    }
    return fail(KvError{KvError::Code::NotApplied, "no etcd member answered: " + errors});
  }
};

Result<std::unique_ptr<Client>, std::string> Client::create(ClientOptions options) {
  auto impl = std::make_unique<Impl>();
  if (options.endpoints.empty()) return fail(std::string("no etcd endpoints"));
  for (const auto& url : options.endpoints) {
    auto ep = parse_endpoint(url);
    if (!ep) return fail(ep.error());
    impl->endpoints.push_back(std::move(*ep));
  }
  SSL_CTX* ctx = impl->tls.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
    return fail("etcd CA " + options.ca_file.string() + ": " + openssl_error());
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
    return fail("etcd client certificate " + options.cert_file.string() + ": " + openssl_error());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail("etcd client key " + options.key_file.string() + ": " + openssl_error());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail("etcd client key " + options.key_file.string() + " does not match " + options.cert_file.string());
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  impl->idle.resize(impl->endpoints.size());
  impl->silent_until = std::make_unique<std::atomic<std::int64_t>[]>(impl->endpoints.size());
  impl->options = std::move(options);
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::optional<KeyValue>, KvError> Client::get(std::string_view key) {
  auto body = impl_->over_members("/v3/kv/range", range_body(key, false), false);
  if (!body) return fail(body.error());
  auto reply = parse_range(*body);
  if (!reply) return fail(KvError{KvError::Code::NotApplied, reply.error().message});
  if (reply->kvs.size() > 1) return fail(KvError{KvError::Code::NotApplied, "etcd reply: one key read, several returned"});
  if (reply->kvs.empty()) return std::optional<KeyValue>();
  if (reply->kvs.front().key != key) return fail(KvError{KvError::Code::NotApplied, "etcd reply: another key returned"});
  return std::optional<KeyValue>(std::move(reply->kvs.front()));
}

Result<TxnReply, KvError> Client::cas(std::string_view key, std::int64_t mod_revision, std::string_view value) {
  auto body = impl_->over_members("/v3/kv/txn", cas_body(key, mod_revision, value), true);
  if (!body) return fail(body.error());
  auto reply = parse_txn(*body);
  // A 200 we cannot read may still carry a success: only a re-read can tell.
  if (!reply) return fail(KvError{KvError::Code::Unknown, reply.error().message});
  if (reply->current && reply->current->key != key) {
    return fail(KvError{KvError::Code::Unknown, "etcd reply: the failure branch returned another key"});
  }
  return std::move(*reply);
}

Result<BatchTxnReply, KvError> Client::cas_batch(std::span<const CasOp> ops) {
  auto body = impl_->over_members("/v3/kv/txn", cas_batch_body(ops), true);
  if (!body) return fail(body.error());
  auto reply = parse_batch_txn(*body, ops);
  // As for one CAS: a 200 we cannot read may still carry a success.
  if (!reply) return fail(KvError{KvError::Code::Unknown, reply.error().message});
  return std::move(*reply);
}

Result<void, KvError> Client::put(std::string_view key, std::string_view value) {
  // Only the health probe puts, and its value may land twice: like a read, it moves on after any
  // failure, so one silent member costs the probe one deadline, not its verdict.
  auto body = impl_->over_members("/v3/kv/put", put_body(key, value), false);
  if (!body) return fail(body.error());
  if (auto h = parse_put(*body); !h) return fail(KvError{KvError::Code::Unknown, h.error().message});
  return {};
}

Result<std::vector<KeyValue>, KvError> Client::list(std::string_view prefix) {
  auto body = impl_->over_members("/v3/kv/range", prefix_range_body(prefix), false);
  if (!body) return fail(body.error());
  auto reply = parse_range(*body);
  if (!reply) return fail(KvError{KvError::Code::NotApplied, reply.error().message});
  return std::move(reply->kvs);
}

MemberStatus Client::status(std::size_t member) {
  MemberStatus s;
  if (member >= impl_->endpoints.size()) return s;
  s.endpoint = impl_->endpoints[member].url;
  auto body = impl_->call(member, "/v3/maintenance/status", "{}");
  if (!body) {
    s.error = body.error().message;
    return s;
  }
  auto reply = parse_status(*body);
  if (!reply) {
    s.error = reply.error().message;
    return s;
  }
  s.reachable = true;
  // The configured order is nearest first (this Pi's own member, the other Pi's, the cloud's): a
  // call that failed over stays where it was answered until a nearer member answers this status
  // with a leader, and then goes back to it (one tunnel round trip less per CAS).
  if (reply->leader != 0) impl_->prefer_nearer(member);
  s.member_id = reply->header.member_id;
  s.leader = reply->leader != 0 && reply->leader == reply->header.member_id;
  s.raft_term = reply->header.raft_term;
  s.revision = reply->header.revision;
  s.db_size = reply->db_size;
  s.alarms = reply->errors;
  return s;
}

std::size_t Client::members() const { return impl_->endpoints.size(); }

ClientStats Client::stats() const {
  return ClientStats{impl_->calls.load(), impl_->failovers.load(), impl_->reauths.load()};
}

}  // namespace pisigner::hwm::etcd
