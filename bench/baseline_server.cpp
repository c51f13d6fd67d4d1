// The baseline: an "ideal minimal" remote signer that does only what a durable signature needs.
// One thread per keep-alive connection, synchronous Beast; per request: take the JSON string body,
// hex-decode, BLAKE2b-256, Ed25519-sign the digest (libsodium), one SQLite commit (WAL,
// synchronous=FULL) of the level into a one-row table, reply {"signature":"<hex>"}. Nothing else:
// no key lookup, policy, watermark rules, logging or metrics. Its latency is the floor pisignerd is
// measured against.
//
// Usage: bench_baseline_server --db FILE   (prints "LISTENING <port>" once bound to 127.0.0.1)
#include <sodium.h>
#include <sqlite3.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <utility>  // boost 1.74 asio/awaitable.hpp uses std::exchange without including it
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbClose>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

// The durable part: one connection, one prepared UPSERT, each step its own FULL-synced commit.
// The row must change on every put: SQLite skips writing a row rewritten with identical bytes, and a
// commit without dirty pages syncs nothing. A bare `level` column let that happen whenever two puts
// carried the same level (8 clients in step, or a payload whose level is not where it was read), and
// the baseline then signed without an fsync. `writes` makes every put a durable write.
// SQLite allows one writer at a time anyway, so connections share it under a mutex.
class LevelStore {
 public:
  explicit LevelStore(const std::string& path) {
    sqlite3* raw = nullptr;
    if (sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      sqlite3_close_v2(raw);
      throw std::runtime_error("cannot open " + path);
    }
    db_.reset(raw);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("CREATE TABLE IF NOT EXISTS hwm(id INTEGER PRIMARY KEY CHECK (id = 1), level INTEGER NOT NULL,"
         " writes INTEGER NOT NULL DEFAULT 0)");
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_.get(),
                           "INSERT INTO hwm(id, level) VALUES(1, ?1)"
                           " ON CONFLICT(id) DO UPDATE SET level = excluded.level, writes = writes + 1",
                           -1, &s, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("prepare: ") + sqlite3_errmsg(db_.get()));
    }
    upsert_.reset(s);
  }

  bool put(std::int64_t level) {
    std::lock_guard lock(mu_);
    sqlite3_bind_int64(upsert_.get(), 1, level);
    const int rc = sqlite3_step(upsert_.get());
    sqlite3_reset(upsert_.get());
    return rc == SQLITE_DONE;
  }

 private:
  void exec(const char* sql) {
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string(sql) + ": " + sqlite3_errmsg(db_.get()));
    }
  }

  std::mutex mu_;
  DbPtr db_;
  StmtPtr upsert_;
};

struct Signer {
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sk{};
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk{};
  LevelStore& store;
};

bhttp::response<bhttp::string_body> reply(unsigned version, bhttp::status status, std::string body) {
  bhttp::response<bhttp::string_body> res(status, version);
  res.set(bhttp::field::content_type, status == bhttp::status::ok ? "application/json" : "text/plain");
  res.keep_alive(true);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

bhttp::response<bhttp::string_body> handle(const bhttp::request<bhttp::string_body>& req, Signer& signer) {
  const std::string_view body = req.body();
  if (req.method() != bhttp::verb::post || body.size() < 2 || body.front() != '"' || body.back() != '"') {
    return reply(req.version(), bhttp::status::bad_request, "expected POST with a JSON string body");
  }
  const std::string_view hex = body.substr(1, body.size() - 2);
  std::vector<unsigned char> payload(hex.size() / 2);
  std::size_t len = 0;
  if (hex.size() % 2 != 0 ||
      sodium_hex2bin(payload.data(), payload.size(), hex.data(), hex.size(), nullptr, &len, nullptr) != 0 ||
      len != payload.size()) {
    return reply(req.version(), bhttp::status::bad_request, "bad hex");
  }
  std::array<unsigned char, 32> digest{};
  crypto_generichash(digest.data(), digest.size(), payload.data(), payload.size(), nullptr, 0);
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, digest.data(), digest.size(), signer.sk.data());

  // The level: bytes 5..8 of a block (magic, chain); bytes 40..43 of a consensus operation (magic,
  // chain, branch, tag, slot). signer/tezos/FORMATS.md has the layouts.
  auto be32_at = [&](std::size_t at) {
    return (std::int64_t{payload[at]} << 24) | (payload[at + 1] << 16) | (payload[at + 2] << 8) | payload[at + 3];
  };
  std::int64_t level = 0;
  if (!payload.empty() && payload[0] == 0x11 && payload.size() >= 9) {
    level = be32_at(5);
  } else if (payload.size() >= 44) {
    level = be32_at(40);
  }
  if (!signer.store.put(level)) return reply(req.version(), bhttp::status::internal_server_error, "store failed");

  std::array<char, crypto_sign_BYTES * 2 + 1> sig_hex{};
  sodium_bin2hex(sig_hex.data(), sig_hex.size(), sig.data(), sig.size());
  return reply(req.version(), bhttp::status::ok, std::string("{\"signature\":\"") + sig_hex.data() + "\"}");
}

void serve(tcp::socket socket, Signer& signer) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request<bhttp::string_body> req;
    bhttp::read(socket, buffer, req, ec);
    if (ec) break;
    auto res = handle(req, signer);
    bhttp::write(socket, res, ec);
    if (ec) break;
  }
  socket.shutdown(tcp::socket::shutdown_both, ec);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "--db") != 0) {
    std::fprintf(stderr, "usage: %s --db FILE\n", argv[0]);
    return 2;
  }
  if (sodium_init() < 0) return 1;
  try {
    LevelStore store(argv[2]);
    Signer signer{{}, {}, store};
    crypto_sign_keypair(signer.pk.data(), signer.sk.data());

    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::printf("LISTENING %u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
    std::fflush(stdout);
    // Runs until killed: the benchmark driver owns this process.
    for (;;) {
      tcp::socket socket(io);
      acceptor.accept(socket);
      std::thread([s = std::move(socket), &signer]() mutable { serve(std::move(s), signer); }).detach();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "baseline server: %s\n", e.what());
    return 1;
  }
}
