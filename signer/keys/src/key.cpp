#include "pisigner/keys/key.hpp"

namespace pisigner::keys {
namespace {

class SignOnFinish final : public PendingSignature {
 public:
  SignOnFinish(Key& key, ByteView payload, const crypto::Digest32& digest)
      : key_(key), payload_(payload), digest_(digest) {}
  Result<tezos::Signature, KeyError> finish() override { return key_.sign(payload_, digest_); }

 private:
  Key& key_;
  ByteView payload_;
  crypto::Digest32 digest_;
};

}  // namespace

std::unique_ptr<PendingSignature> Key::begin_sign(ByteView payload, const crypto::Digest32& digest) {
  return std::make_unique<SignOnFinish>(*this, payload, digest);
}

}  // namespace pisigner::keys
