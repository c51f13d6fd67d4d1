#include "pisigner/keys/soft_key.hpp"

#include "pisigner/tezos/secret_key.hpp"

namespace pisigner::keys {

Result<std::unique_ptr<SoftKey>, KeyError> SoftKey::load(std::string_view uri,
                                                         std::optional<std::string_view> passphrase) {
  auto secret = tezos::parse_secret_key(uri, passphrase);
  if (!secret) return fail(KeyError{KeyError::Code::Internal, secret.error().message});
  return std::make_unique<SoftKey>(std::move(secret).value());
}

SoftKey::SoftKey(crypto::SecretKey secret) : secret_(std::move(secret)) {
  // The raw key comes from our own crypto layer, so from_raw cannot fail here.
  pk_ = tezos::PublicKey::from_raw(secret_.curve(), secret_.public_key()).value();
  pkh_ = pk_.hash();
}

Result<tezos::Signature, KeyError> SoftKey::sign(ByteView, const crypto::Digest32& digest) {
  auto raw = secret_.sign_digest(digest);
  return tezos::Signature{secret_.curve(), Bytes(raw.begin(), raw.end())};
}

}  // namespace pisigner::keys
