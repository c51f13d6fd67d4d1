// Byte buffers and hex, the one place the project converts between them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pisigner {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Lowercase hex of `data`.
std::string to_hex(ByteView data);

// Decodes upper- or lower-case hex with even length; nullopt on any other input.
std::optional<Bytes> from_hex(std::string_view hex);

// Big-endian readers; caller guarantees `offset + N <= data.size()`.
std::uint32_t read_be32(ByteView data, std::size_t offset);
std::uint16_t read_be16(ByteView data, std::size_t offset);
void append_be32(Bytes& out, std::uint32_t v);

}  // namespace pisigner
