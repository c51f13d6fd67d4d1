// TI INA219 registers and the Waveshare UPS HAT settings.
// Sources: TI INA219 datasheet (SBOS448) register map; Waveshare UPS HAT demo INA219.py
// set_calibration_32V_2A (cal 4096, 0.1 mA/bit, 2 mW/bit, config 0x3EEF); reference/pi-platform.md §1.2.
#pragma once

#include <cstdint>

namespace pisigner::hal::ina219 {

inline constexpr std::uint8_t kRegConfig = 0x00;
inline constexpr std::uint8_t kRegShuntVoltage = 0x01;
inline constexpr std::uint8_t kRegBusVoltage = 0x02;
inline constexpr std::uint8_t kRegPower = 0x03;
inline constexpr std::uint8_t kRegCurrent = 0x04;
inline constexpr std::uint8_t kRegCalibration = 0x05;

// 32 V bus range, PGA /8 (±320 mV), 12-bit ×32 averaging on both ADCs, shunt+bus continuous.
inline constexpr std::uint16_t kConfig = (1u << 13) | (3u << 11) | (0x0Du << 7) | (0x0Du << 3) | 7u;
static_assert(kConfig == 0x3EEF);
// Cal = trunc(0.04096 / (Current_LSB 0.1 mA × Rshunt 0.1 Ω)).
inline constexpr std::uint16_t kCalibration = 4096;
inline constexpr double kCurrentLsbMa = 0.1;
inline constexpr double kPowerLsbW = 0.002;     // 20 × Current_LSB
inline constexpr double kBusLsbV = 0.004;       // after >> 3
inline constexpr double kShuntLsbMv = 0.01;

inline constexpr std::uint8_t kDefaultAddress = 0x42;  // UPS HAT / (B) / (D); (C) is 0x43

}  // namespace pisigner::hal::ina219
