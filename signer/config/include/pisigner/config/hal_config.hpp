// The [ups] and [uplink] sections of pisignerd's configuration (keys documented in HAL_KEYS.md).
// Plain fields mirroring hal::UpsConfig / hal::UplinkConfig: the config library stays free of the
// hardware libraries, and the daemon translates (signer/daemon/hal_wiring.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace pisigner::config {

struct UpsSection {
  std::string model = "none";  // "none" | "waveshare_ina219" | "x728" | "sysfs"
  int i2c_bus = 1;
  std::optional<std::uint8_t> address;  // unset: the model's default (0x42 INA219, 0x36 X728)
  std::string gpio_chip = "gpiochip0";
  std::optional<unsigned> gpio_line;    // power-loss line; unset: 6 on the X728, none otherwise
  bool gpio_active_high = true;
  std::string sysfs_root = "/sys/class/power_supply";
  std::string sysfs_battery;            // empty: the first Battery supply
  std::string sysfs_ac;                 // empty: the first Mains/USB supply
  double pack_empty_v = 6.0;
  double pack_full_v = 8.4;
  std::optional<double> battery_capacity_mah;
  double min_charge_percent = 20.0;
  std::chrono::seconds min_runtime{300};
  std::chrono::seconds grace_period{60};
  std::chrono::seconds poll_interval{5};
  int read_retries = 3;
  bool optional = false;
  std::string bus = "system";           // where logind is: "system" or a D-Bus address
  int line = 0;                         // where [ups] starts (0 = absent), for later messages
};

struct UplinkSection {
  bool enabled = false;
  std::string wired_interface;          // empty: any ethernet device
  std::string lte_connection;           // NetworkManager profile id or uuid
  std::chrono::seconds failover_after{30};
  std::chrono::seconds failback_after{120};
  std::chrono::seconds retry_after{60};
  std::chrono::seconds poll_interval{2};
  std::chrono::milliseconds call_timeout{2000};
  std::string bus = "system";           // "system" or a D-Bus address (tests: a private bus)
  int line = 0;
};

}  // namespace pisigner::config
