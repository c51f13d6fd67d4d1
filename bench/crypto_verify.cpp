// What verifying a soft-key signature before it leaves would cost: median µs per sign_digest and per
// verify_digest for each curve, over a 32-byte digest as the sign path has it. Not a test.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "pisigner/crypto/signing.hpp"

using namespace pisigner;
using Clock = std::chrono::steady_clock;

namespace {

template <class F>
double median_us(int n, F&& f) {
  std::vector<double> t(static_cast<std::size_t>(n));
  for (auto& x : t) {
    const auto a = Clock::now();
    f();
    x = std::chrono::duration<double, std::micro>(Clock::now() - a).count();
  }
  std::nth_element(t.begin(), t.begin() + n / 2, t.end());
  return t[static_cast<std::size_t>(n / 2)];
}

}  // namespace

int main() {
  constexpr int kRuns = 2000;
  std::printf("%-10s %12s %12s\n", "curve", "sign_us", "verify_us");
  for (auto curve : {crypto::Curve::Ed25519, crypto::Curve::Secp256k1, crypto::Curve::P256}) {
    const crypto::SecretKey key = crypto::SecretKey::generate(curve);
    crypto::Digest32 d = crypto::blake2b_256(Bytes{1, 2, 3});
    crypto::Signature64 sig{};
    int bad = 0;
    for (int i = 0; i < 100; ++i) sig = key.sign_digest(d);  // warm-up
    const double sign = median_us(kRuns, [&] {
      d[0]++;
      sig = key.sign_digest(d);
    });
    const double verify = median_us(kRuns, [&] { bad += !crypto::verify_digest(curve, key.public_key(), d, sig); });
    std::printf("%-10s %12.1f %12.1f%s\n", std::string(crypto::curve_name(curve)).c_str(), sign, verify,
                bad ? "  (verification failed!)" : "");
  }
}
