// secp256k1 through libsecp256k1: ~10x faster than OpenSSL on this curve (see design.md),
// constant-time, RFC 6979 nonces by default.
#include <secp256k1.h>
#include <sodium.h>

#include "internal.hpp"

namespace pisigner::crypto::detail {

namespace {

struct ContextDeleter {
  void operator()(secp256k1_context* c) const noexcept { secp256k1_context_destroy(c); }
};

// One context for the process. After creation and randomisation it is only read, which
// libsecp256k1 documents as safe from any number of threads.
const secp256k1_context* context() {
  static const std::unique_ptr<secp256k1_context, ContextDeleter> ctx = [] {
    ensure_sodium();
    std::unique_ptr<secp256k1_context, ContextDeleter> c(secp256k1_context_create(SECP256K1_CONTEXT_NONE));
    if (!c) fatal("secp256k1_context_create failed");
    // Blinding against side channels in key generation and signing.
    unsigned char seed[32];
    randombytes_buf(seed, sizeof seed);
    if (!secp256k1_context_randomize(c.get(), seed)) fatal("secp256k1_context_randomize failed");
    sodium_memzero(seed, sizeof seed);
    return c;
  }();
  return ctx.get();
}

Bytes serialize_compressed(const secp256k1_pubkey& pk) {
  Bytes out(33);
  std::size_t len = out.size();
  secp256k1_ec_pubkey_serialize(context(), out.data(), &len, &pk, SECP256K1_EC_COMPRESSED);
  return out;
}

}  // namespace

Bytes secp256k1_public_key(const Scalar& secret) {
  secp256k1_pubkey pk;
  if (!secp256k1_ec_pubkey_create(context(), &pk, secret.data())) fatal("secp256k1: invalid secret scalar");
  return serialize_compressed(pk);
}

Signature64 secp256k1_sign(const Scalar& secret, const Digest32& digest) {
  secp256k1_ecdsa_signature sig;
  // Null nonce function = secp256k1_nonce_function_rfc6979.
  if (!secp256k1_ecdsa_sign(context(), &sig, digest.data(), secret.data(), nullptr, nullptr))
    fatal("secp256k1_ecdsa_sign failed");
  // libsecp256k1 already emits low S; normalising again costs nothing and states the contract.
  secp256k1_ecdsa_signature_normalize(context(), &sig, &sig);
  Signature64 out;
  secp256k1_ecdsa_signature_serialize_compact(context(), out.data(), &sig);
  return out;
}

bool secp256k1_verify(ByteView public_key, const Digest32& digest, ByteView signature) {
  if (public_key.size() != 33 || signature.size() != 64) return false;
  secp256k1_pubkey pk;
  if (!secp256k1_ec_pubkey_parse(context(), &pk, public_key.data(), public_key.size())) return false;
  secp256k1_ecdsa_signature sig;
  if (!secp256k1_ecdsa_signature_parse_compact(context(), &sig, signature.data())) return false;
  // secp256k1_ecdsa_verify itself rejects high S; no separate check needed.
  return secp256k1_ecdsa_verify(context(), &sig, digest.data(), &pk) == 1;
}

Result<Bytes, CryptoError> secp256k1_compress(ByteView uncompressed) {
  if (uncompressed.size() != 65 || uncompressed[0] != 0x04)
    return fail(CryptoError{"secp256k1: expected a 65-byte uncompressed point (0x04||X||Y)"});
  secp256k1_pubkey pk;
  if (!secp256k1_ec_pubkey_parse(context(), &pk, uncompressed.data(), uncompressed.size()))
    return fail(CryptoError{"secp256k1: point is not on the curve"});
  return serialize_compressed(pk);
}

}  // namespace pisigner::crypto::detail
