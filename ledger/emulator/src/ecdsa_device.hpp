// ECDSA encodings the Ledger uses on the wire, computed with OpenSSL's EC arithmetic.
#pragma once

#include "pisigner/bytes.hpp"
#include "pisigner/crypto/curve.hpp"
#include "pisigner/crypto/hash.hpp"
#include "pisigner/crypto/signing.hpp"
#include "pisigner/result.hpp"

namespace pisigner::ledger::emulator {

// 0x04 || X || Y from a 33-byte compressed SEC1 point.
Result<Bytes, Error> uncompress_point(crypto::Curve curve, ByteView compressed);

// `30 L 02 Lr r 02 Ls s` (minimal integers), with bit 0 of the first byte set when the
// nonce point R has an odd y, like the app's sign() (CX_ECCINFO_PARITY_ODD). The parity is
// recovered from (r, s, hash, public key) since the signer does not expose it.
Result<Bytes, Error> device_der(crypto::Curve curve, ByteView compressed_pub, const crypto::Digest32& hash,
                                const crypto::Signature64& rs);

}  // namespace pisigner::ledger::emulator
