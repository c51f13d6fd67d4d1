// Maxim MAX17040/MAX17043 fuel gauge registers (Geekworm X728/X708).
// Sources: MAX17040/MAX17043 datasheets (VCELL 12-bit, 1.25 mV/LSB; SOC high byte %, low
// byte 1/256 %); Geekworm x728 scripts; reference/pi-platform.md §1.3.
// MAX17048/49 use the same layout at 78.125 µV/LSB over the full word; not handled here.
#pragma once

#include <cstdint>

namespace pisigner::hal::max1704x {

inline constexpr std::uint8_t kRegVcell = 0x02;
inline constexpr std::uint8_t kRegSoc = 0x04;
inline constexpr std::uint8_t kRegMode = 0x06;
inline constexpr std::uint8_t kRegVersion = 0x08;
inline constexpr std::uint8_t kRegConfig = 0x0C;
inline constexpr std::uint8_t kRegCommand = 0xFE;

inline constexpr double kVcellLsbV = 0.00125;   // after >> 4
inline constexpr double kSocPerLsb = 1.0 / 256.0;

inline constexpr std::uint8_t kDefaultAddress = 0x36;
inline constexpr unsigned kX728PowerLossLine = 6;   // GPIO6 (PLD), high = mains lost

}  // namespace pisigner::hal::max1704x
