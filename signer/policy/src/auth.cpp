#include "pisigner/policy/auth.hpp"

namespace pisigner::policy {

namespace {
constexpr std::uint8_t kAuthMagic = 0x04;
constexpr std::uint8_t kAuthKindSign = 0x01;
}  // namespace

Result<Authenticator, AuthError> Authenticator::build(bool required, const std::vector<std::string>& authorized_keys) {
  std::vector<tezos::PublicKey> keys;
  for (const auto& text : authorized_keys) {
    auto pk = tezos::PublicKey::parse(text);
    if (!pk) return fail(AuthError{AuthError::Code::Config, "authorized key '" + text + "': " + pk.error().message});
    keys.push_back(std::move(pk).value());
  }
  return from_keys(required, std::move(keys));
}

Result<Authenticator, AuthError> Authenticator::from_keys(bool required, std::vector<tezos::PublicKey> authorized_keys) {
  Authenticator a;
  a.required_ = required;
  a.keys_ = std::move(authorized_keys);
  if (required && a.keys_.empty()) {
    return fail(AuthError{AuthError::Code::Config, "auth.required is true but auth.authorized_keys is empty"});
  }
  return a;
}

std::vector<tezos::PublicKeyHash> Authenticator::authorized_pkhs() const {
  std::vector<tezos::PublicKeyHash> out;
  for (const auto& k : keys_) out.push_back(k.hash());
  return out;
}

Bytes Authenticator::signed_bytes(const tezos::PublicKeyHash& signer, ByteView payload) {
  Bytes msg{kAuthMagic, kAuthKindSign};
  auto pkh = signer.binary();
  msg.insert(msg.end(), pkh.begin(), pkh.end());
  msg.insert(msg.end(), payload.begin(), payload.end());
  return msg;
}

Result<void, AuthError> Authenticator::check(const tezos::PublicKeyHash& signer, ByteView payload,
                                             std::optional<std::string_view> signature_b58) const {
  if (!required_) return {};
  if (!signature_b58 || signature_b58->empty()) {
    return fail(AuthError{AuthError::Code::Missing, "missing authentication signature field"});
  }
  auto sig = tezos::Signature::parse(*signature_b58);
  if (!sig) return fail(AuthError{AuthError::Code::Invalid, "invalid authentication signature"});
  const Bytes msg = signed_bytes(signer, payload);
  for (const auto& pk : keys_) {
    if (tezos::verify(pk, msg, *sig)) return {};
  }
  return fail(AuthError{AuthError::Code::Invalid, "invalid authentication signature"});
}

}  // namespace pisigner::policy
