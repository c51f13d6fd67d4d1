// The base58check prefix table: prefix bytes, payload size and encoded start for every Prefix.
// Source: tezos/tezos-mirror src/lib_crypto/base58.ml (module Prefix); see ../FORMATS.md §1.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "pisigner/tezos/base58.hpp"

namespace pisigner::tezos::detail {

struct PrefixInfo {
  Prefix prefix;
  std::array<std::uint8_t, 5> bytes;  // first `length` bytes are used
  std::size_t length;
  std::size_t payload;
  std::string_view name;
};

// clang-format off
inline constexpr std::array<PrefixInfo, 25> kPrefixes{{
  {Prefix::Tz1,              {0x06, 0xa1, 0x9f},             3, 20, "tz1"},
  {Prefix::Tz2,              {0x06, 0xa1, 0xa1},             3, 20, "tz2"},
  {Prefix::Tz3,              {0x06, 0xa1, 0xa4},             3, 20, "tz3"},
  {Prefix::Tz4,              {0x06, 0xa1, 0xa6},             3, 20, "tz4"},
  {Prefix::Edpk,             {0x0d, 0x0f, 0x25, 0xd9},       4, 32, "edpk"},
  {Prefix::Sppk,             {0x03, 0xfe, 0xe2, 0x56},       4, 33, "sppk"},
  {Prefix::P2pk,             {0x03, 0xb2, 0x8b, 0x7f},       4, 33, "p2pk"},
  {Prefix::BLpk,             {0x06, 0x95, 0x87, 0xcc},       4, 48, "BLpk"},
  {Prefix::Edsk,             {0x0d, 0x0f, 0x3a, 0x07},       4, 32, "edsk"},
  {Prefix::EdskLong,         {0x2b, 0xf6, 0x4e, 0x07},       4, 64, "edsk"},
  {Prefix::Spsk,             {0x11, 0xa2, 0xe0, 0xc9},       4, 32, "spsk"},
  {Prefix::P2sk,             {0x10, 0x51, 0xee, 0xbd},       4, 32, "p2sk"},
  {Prefix::BLsk,             {0x03, 0x96, 0xc0, 0x28},       4, 32, "BLsk"},
  {Prefix::Edesk,            {0x07, 0x5a, 0x3c, 0xb3, 0x29}, 5, 56, "edesk"},
  {Prefix::Spesk,            {0x09, 0xed, 0xf1, 0xae, 0x96}, 5, 56, "spesk"},
  {Prefix::P2esk,            {0x09, 0x30, 0x39, 0x73, 0xab}, 5, 56, "p2esk"},
  {Prefix::BLesk,            {0x02, 0x05, 0x1e, 0x35, 0x19}, 5, 56, "BLesk"},
  {Prefix::Edsig,            {0x09, 0xf5, 0xcd, 0x86, 0x12}, 5, 64, "edsig"},
  {Prefix::Spsig1,           {0x0d, 0x73, 0x65, 0x13, 0x3f}, 5, 64, "spsig1"},
  {Prefix::P2sig,            {0x36, 0xf0, 0x2c, 0x34},       4, 64, "p2sig"},
  {Prefix::GenericSig,       {0x04, 0x82, 0x2b},             3, 64, "sig"},
  {Prefix::BLsig,            {0x28, 0xab, 0x40, 0xcf},       4, 96, "BLsig"},
  {Prefix::ChainId,          {0x57, 0x52, 0x00},             3, 4,  "Net"},
  {Prefix::BlockHash,        {0x01, 0x34},                   2, 32, "B"},
  {Prefix::BlockPayloadHash, {0x01, 0x6a, 0xf2},             3, 32, "vh"},
}};
// clang-format on

constexpr const PrefixInfo& info(Prefix p) {
  for (const auto& i : kPrefixes) {
    if (i.prefix == p) return i;
  }
  return kPrefixes[0];  // unreachable: every enumerator is in the table (checked in base58.cpp)
}

}  // namespace pisigner::tezos::detail
