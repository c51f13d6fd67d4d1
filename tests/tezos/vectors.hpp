// Published test vectors, with their sources (see signer/tezos/FORMATS.md and
// reference/octez-signer.md §11). Values here come from those sources, not from this code.
#pragma once

#include <string_view>

#include "pisigner/bytes.hpp"

namespace pisigner::tezos::test {

// tezos/tezos-mirror tezt/lib_tezos/account.ml
struct Account {
  std::string_view pkh, pk, sk;
};
inline constexpr Account kBootstrap1{"tz1KqTpEZ7Yob7QbPE4Hy4Wo8fHG8LhKxZSx",
                                     "edpkuBknW28nW72KG6RoHtYW7p12T6GKc7nAbwYX5m8Wd9sDVC9yav",
                                     "edsk3gUfUPyBSfrS9CCgmCiQsTCHGkviBDusMxDJstFtojtc1zcpsh"};
inline constexpr Account kBootstrap2{"tz1gjaF81ZRRvdzjobyfVNsAeSC6PScjfQwN",
                                     "edpktzNbDAUjUk697W7gYg2CRuBQjyPxbEg8dLccYYwKSKvkPvjtV9",
                                     "edsk39qAm1fiMjgmPkw1EgQYkMzkJezLNewd7PLNHTkr6w9XA2zdfo"};

// ecadlabs/signatory pkg/signatory/request/request_test.go
inline constexpr std::string_view kPreattestationHex =
    "12ed9d217c2f50673bab6b20dfb0a88ca93b4a0c72a34c807af5dffbece2cba3d2b509835f14006000000002000000041f1ebb39759cc957"
    "216f88fb4d005abc206fb00a53f8d57ac01be00c084cba97";
inline constexpr std::string_view kAttestationHex =
    "13ed9d217cfc81eee810737b04018acef4db74d056b79edc43e6be46cae7e4c217c22a82f01500120000518d0000000003e7ea1f67dbb0bb"
    "6cfa372cb092cd9cf786b4f1b5e5139da95b915fb95e698d";
inline constexpr std::string_view kBlockHex =
    "11ed9d217c0000518e0118425847ac255b6d7c30ce8fec23b8eaf13b741de7d18509ac2ef83c741209630000000061947af504805682ea5d"
    "089837764b3efcc90b91db24294ff9ddb66019f332ccba17cc4741000000210000000102000000040000518e0000000000000004ffffffff"
    "0000000400000000eb1320a71e8bf8b0162a3ec315461e9153a38b70d00d5dde2df85eb92748f8d068d776e356683a9e23c186ccfb72ddc6"
    "c9857bb1704487972922e7c89a7121f800000000a8e1dd3c000000000000";

inline Bytes hex(std::string_view h) { return from_hex(h).value(); }

}  // namespace pisigner::tezos::test
