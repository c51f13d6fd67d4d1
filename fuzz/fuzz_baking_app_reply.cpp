// The Tezos Baking app client decoding device replies (ledger/baking_app/): every BakingApp call
// over a transport that answers with fuzzed replies, and the reply decoders on their own.
// Input: records. Byte 0 of a record picks the call (and its curve); then one reply per APDU the
// call sends, each `len || data || SW(2)` (len 0xFF: the transport times out instead).
// Properties: nothing crashes; decoded keys and signatures have their curve's sizes.
#include <cstddef>
#include <cstdint>
#include <deque>

#include "fuzz_check.hpp"
#include "pisigner/ledger/baking_app.hpp"

using namespace pisigner;
using namespace pisigner::ledger;

namespace {
struct Input {
  const std::uint8_t* p;
  std::size_t n;
  bool empty() const { return n == 0; }
  std::uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  ByteView take(std::size_t k) {
    k = std::min(k, n);
    ByteView v(p, k);
    p += k;
    n -= k;
    return v;
  }
};

class FuzzTransport final : public Transport {
 public:
  explicit FuzzTransport(Input& in) : in_(in) {}
  Result<Reply, TransportError> exchange(const Apdu& apdu, std::chrono::milliseconds) override {
    FUZZ_CHECK(apdu.data.size() <= 255);
    if (in_.empty()) return fail(TransportError{TransportErrc::Disconnected, "end of input"});
    const std::uint8_t len = in_.byte();
    if (len == 0xFF) return fail(TransportError{TransportErrc::Timeout, "fuzzed timeout"});
    ByteView data = in_.take(len);
    Reply r{Bytes(data.begin(), data.end()), 0};
    r.sw = static_cast<std::uint16_t>(in_.byte() << 8);
    r.sw = static_cast<std::uint16_t>(r.sw | in_.byte());
    return r;
  }
  std::string describe() const override { return "fuzz"; }

 private:
  Input& in_;
};

std::size_t key_size(DerivationType c) {
  switch (c) {
    case DerivationType::Ed25519:
    case DerivationType::Bip32Ed25519: return 32;
    case DerivationType::Secp256k1:
    case DerivationType::P256: return 33;
    case DerivationType::Bls12_381: return 48;
  }
  return 0;
}

void check_key(const Result<PublicKey, DeviceError>& k, DerivationType c) {
  if (k.ok()) FUZZ_CHECK(k->curve == c && k->bytes.size() == key_size(c));
  else FUZZ_CHECK(!k.error().message.empty());
}

void check_sig(const Result<Signature, DeviceError>& s, DerivationType c) {
  if (s.ok()) FUZZ_CHECK(s->curve == c && s->bytes.size() == (c == DerivationType::Bls12_381 ? 96u : 64u));
}

void check_path(const Path& p) { FUZZ_CHECK(!p.empty() && p.size() <= 10); }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in{data, size};
  FuzzTransport transport(in);
  BakingApp app(transport);
  const Path path{0x8000002C, 0x800006C1, 0x80000000, 0x80000000};
  const Bytes message = {0x13, 0x7a, 0x06, 0xa7, 0x70, 0x00, 0x00, 0x00, 0x01};
  for (int calls = 0; !in.empty() && calls < 16; ++calls) {
    const std::uint8_t op = in.byte();
    const auto curve = static_cast<DerivationType>((op >> 4) % 5);
    switch (op & 0x0F) {
      case 0: if (auto v = app.version(); v.ok()) FUZZ_CHECK(v->app_class == kBakingAppClass); break;
      case 1: (void)app.git(); break;
      case 2: check_key(app.get_public_key(curve, path), curve); break;
      case 3: check_key(app.authorize_baking(curve, path), curve); break;
      case 4: if (auto p = app.query_auth_key(); p.ok() && *p) check_path(**p); break;
      case 5: if (auto p = app.query_auth_key_with_curve(); p.ok() && *p) check_path((*p)->path); break;
      case 6: (void)app.query_main_hwm(); break;
      case 7: (void)app.query_all_hwm(); break;
      case 8: check_key(app.setup(curve, path, 0x7a06a770, 1, 1), curve); break;
      case 9: (void)app.reset(5); break;
      case 10: check_sig(app.sign(curve, path, message), curve); break;
      case 11: check_sig(app.sign_with_hash(curve, path, message), curve); break;
      case 12: (void)app.hmac(curve, path, message); break;
      case 13: (void)app.deauthorize(); break;
      case 14: {  // the decoders alone, on the rest of a length-prefixed record
        ByteView reply = in.take(in.byte());
        check_key(decode_public_key(curve, reply), curve);
        check_sig(decode_signature(curve, reply), curve);
        break;
      }
      default: {  // begin, then abandon: the reply to the path is read and nothing signed
        if (app.sign_with_hash_begin(curve, path).ok()) (void)app.sign_with_hash_abandon();
        break;
      }
    }
  }
  return 0;
}
