// [ups] and [uplink]: the same strictness as config.cpp (unknown keys, wrong types and ranges are
// errors naming file, line and key), kept apart so the UPS/uplink keys live in one file.
#include <sstream>

#include "hal_sections.hpp"

namespace pisigner::config {

namespace {

struct Failure {
  std::string message;
};

class SectionReader {
 public:
  SectionReader(const std::string& source, const toml::table& table, std::string prefix)
      : source_(source), table_(table), prefix_(std::move(prefix)) {}

  [[noreturn]] void error(const toml::node* node, std::string_view key, const std::string& what) const {
    if (!node) node = &table_;
    std::ostringstream s;
    s << source_;
    if (node->source().begin.line) s << ':' << node->source().begin.line << ':' << node->source().begin.column;
    s << ": " << prefix_ << key << ": " << what;
    throw Failure{s.str()};
  }

  void only(std::initializer_list<std::string_view> allowed) const {
    for (auto&& [k, v] : table_) {
      bool ok = false;
      for (auto a : allowed) ok = ok || k.str() == a;
      if (ok) continue;
      std::string names;
      for (auto a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
      error(&v, k.str(), "unknown key (expected one of: " + names + ")");
    }
  }

  const toml::node* node(std::string_view key) const { return table_.get(key); }

  void get(std::string_view key, bool& out) const {
    if (const toml::node* n = node(key)) {
      if (!n->is_boolean()) error(n, key, "must be true or false");
      out = n->as_boolean()->get();
    }
  }
  void get(std::string_view key, std::string& out) const {
    if (const toml::node* n = node(key)) {
      if (!n->is_string()) error(n, key, "must be a string");
      out = n->as_string()->get();
    }
  }
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t lo, std::int64_t hi) const {
    const toml::node* n = node(key);
    if (!n) return std::nullopt;
    if (!n->is_integer()) error(n, key, "must be an integer");
    const auto v = n->as_integer()->get();
    if (v < lo || v > hi) error(n, key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return v;
  }
  // Integers are accepted where a number is expected ("20" for 20.0 %).
  std::optional<double> number(std::string_view key, double lo, double hi) const {
    const toml::node* n = node(key);
    if (!n) return std::nullopt;
    double v = 0;
    if (n->is_integer()) {
      v = static_cast<double>(n->as_integer()->get());
    } else if (n->is_floating_point()) {
      v = n->as_floating_point()->get();
    } else {
      error(n, key, "must be a number");
    }
    if (!(v >= lo && v <= hi)) {
      std::ostringstream s;
      s << "must be between " << lo << " and " << hi;
      error(n, key, s.str());
    }
    return v;
  }
  template <class Duration>
  void duration(std::string_view key, Duration& out, std::int64_t lo, std::int64_t hi) const {
    if (auto v = integer(key, lo, hi)) out = Duration(*v);
  }
  // "system" or a D-Bus address such as "unix:path=/run/dbus/system_bus_socket".
  void bus(std::string& out) const {
    get("bus", out);
    if (out != "system" && (out.find(':') == std::string::npos || out.find('=') == std::string::npos)) {
      error(node("bus"), "bus", "must be \"system\" or a D-Bus address like \"unix:path=/run/dbus/system_bus_socket\"");
    }
  }

 private:
  const std::string& source_;
  const toml::table& table_;
  std::string prefix_;
};

const toml::table* section(const toml::table& root, std::string_view key, const std::string& source) {
  const toml::node* n = root.get(key);
  if (!n) return nullptr;
  if (!n->is_table()) SectionReader(source, root, "").error(n, key, "must be a table");
  return n->as_table();
}

void read_ups(const SectionReader& r, UpsSection& u) {
  r.only({"model", "i2c_bus", "address", "gpio_chip", "gpio_line", "gpio_active_high", "sysfs_root", "sysfs_battery",
          "sysfs_ac", "pack_empty_v", "pack_full_v", "battery_capacity_mah", "min_charge_percent", "min_runtime_s",
          "grace_period_s", "poll_interval_s", "read_retries", "optional", "bus"});
  r.get("model", u.model);
  if (u.model != "none" && u.model != "waveshare_ina219" && u.model != "x728" && u.model != "sysfs") {
    r.error(r.node("model"), "model", "must be \"none\", \"waveshare_ina219\", \"x728\" or \"sysfs\"");
  }
  if (auto v = r.integer("i2c_bus", 0, 255)) u.i2c_bus = static_cast<int>(*v);
  if (auto v = r.integer("address", 0x03, 0x77)) u.address = static_cast<std::uint8_t>(*v);
  r.get("gpio_chip", u.gpio_chip);
  if (auto v = r.integer("gpio_line", 0, 1023)) u.gpio_line = static_cast<unsigned>(*v);
  if (u.gpio_line && u.gpio_chip.empty()) r.error(r.node("gpio_chip"), "gpio_chip", "must be set when gpio_line is");
  r.get("gpio_active_high", u.gpio_active_high);
  r.get("sysfs_root", u.sysfs_root);
  if (u.sysfs_root.empty()) r.error(r.node("sysfs_root"), "sysfs_root", "must not be empty");
  r.get("sysfs_battery", u.sysfs_battery);
  r.get("sysfs_ac", u.sysfs_ac);
  if (auto v = r.number("pack_empty_v", 0.1, 60)) u.pack_empty_v = *v;
  if (auto v = r.number("pack_full_v", 0.1, 60)) u.pack_full_v = *v;
  if (u.pack_full_v <= u.pack_empty_v) {
    r.error(r.node("pack_full_v") ? r.node("pack_full_v") : r.node("pack_empty_v"), "pack_full_v",
            "must be greater than pack_empty_v");
  }
  if (auto v = r.number("battery_capacity_mah", 1, 1'000'000)) u.battery_capacity_mah = *v;
  if (auto v = r.number("min_charge_percent", 0, 100)) u.min_charge_percent = *v;
  r.duration("min_runtime_s", u.min_runtime, 0, 86400);
  r.duration("grace_period_s", u.grace_period, 0, 3600);
  r.duration("poll_interval_s", u.poll_interval, 1, 3600);
  if (auto v = r.integer("read_retries", 1, 10)) u.read_retries = static_cast<int>(*v);
  r.get("optional", u.optional);
  r.bus(u.bus);
}

void read_uplink(const SectionReader& r, UplinkSection& u) {
  r.only({"enabled", "wired_interface", "lte_connection", "failover_after_s", "failback_after_s", "retry_after_s",
          "poll_interval_s", "call_timeout_ms", "bus"});
  r.get("enabled", u.enabled);
  r.get("wired_interface", u.wired_interface);
  r.get("lte_connection", u.lte_connection);
  r.duration("failover_after_s", u.failover_after, 1, 86400);
  r.duration("failback_after_s", u.failback_after, 1, 86400);
  r.duration("retry_after_s", u.retry_after, 1, 86400);
  r.duration("poll_interval_s", u.poll_interval, 1, 3600);
  r.duration("call_timeout_ms", u.call_timeout, 100, 30000);
  r.bus(u.bus);
  if (u.failback_after < u.failover_after) {
    r.error(r.node("failback_after_s") ? r.node("failback_after_s") : r.node("failover_after_s"), "failback_after_s",
            "must not be shorter than failover_after_s (hysteresis)");
  }
  if (u.enabled && u.lte_connection.empty()) {
    r.error(r.node("enabled"), "lte_connection", "is required when enabled = true (a NetworkManager profile id or uuid)");
  }
}

}  // namespace

Result<void, Error> parse_hal_sections(const toml::table& root, const std::string& source, UpsSection& ups,
                                       UplinkSection& uplink) {
  try {
    if (const auto* t = section(root, "ups", source)) {
      ups.line = static_cast<int>(t->source().begin.line);
      read_ups(SectionReader(source, *t, "ups."), ups);
    }
    if (const auto* t = section(root, "uplink", source)) {
      uplink.line = static_cast<int>(t->source().begin.line);
      read_uplink(SectionReader(source, *t, "uplink."), uplink);
    }
  } catch (const Failure& f) {
    return fail(Error{f.message});
  }
  return {};
}

}  // namespace pisigner::config
