// [ups] and [uplink]: the same strictness as config.cpp (unknown keys, wrong types and bad values
// are errors naming file, line and key). This file knows the keys and their TOML types only;
// defaults, ranges and cross-field rules are hal::validate()'s, reported here with a position.
#include <limits>
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
  void get(std::string_view key, std::int64_t& out) const {
    if (auto v = integer(key)) out = *v;
  }
  void get(std::string_view key, std::optional<std::int64_t>& out) const {
    if (auto v = integer(key)) out = *v;
  }
  void get(std::string_view key, double& out) const {
    if (auto v = number(key)) out = *v;
  }
  void get(std::string_view key, std::optional<double>& out) const {
    if (auto v = number(key)) out = *v;
  }
  template <class Rep, class Period>
  void get(std::string_view key, std::chrono::duration<Rep, Period>& out) const {
    if (auto v = integer(key)) {
      // Beyond the duration's range is out of every rule's range too: saturate, let validate() say so.
      constexpr auto lo = std::numeric_limits<Rep>::min(), hi = std::numeric_limits<Rep>::max();
      out = std::chrono::duration<Rep, Period>(*v < lo ? lo : (*v > hi ? hi : static_cast<Rep>(*v)));
    }
  }

  // The first issue hal::validate() found, at the line of its key (or of a key the rule
  // involves, or of the section header).
  void report(const std::vector<hal::ConfigIssue>& issues) const {
    if (issues.empty()) return;
    const auto& i = issues.front();
    const toml::node* at = node(i.key);
    for (const auto& other : i.also) {
      if (!at) at = node(other);
    }
    error(at, i.key, i.message);
  }

 private:
  std::optional<std::int64_t> integer(std::string_view key) const {
    const toml::node* n = node(key);
    if (!n) return std::nullopt;
    if (!n->is_integer()) error(n, key, "must be an integer");
    return n->as_integer()->get();
  }
  // Integers are accepted where a number is expected ("20" for 20.0 %).
  std::optional<double> number(std::string_view key) const {
    const toml::node* n = node(key);
    if (!n) return std::nullopt;
    if (n->is_integer()) return static_cast<double>(n->as_integer()->get());
    if (!n->is_floating_point()) error(n, key, "must be a number");
    return n->as_floating_point()->get();
  }

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

void read_ups(const SectionReader& r, hal::UpsConfig& u) {
  r.only({"model", "i2c_bus", "address", "gpio_chip", "gpio_line", "gpio_active_high", "sysfs_root", "sysfs_battery",
          "sysfs_ac", "pack_empty_v", "pack_full_v", "battery_capacity_mah", "min_charge_percent", "min_runtime_s",
          "grace_period_s", "poll_interval_s", "read_retries", "optional", "bus"});
  std::string model = hal::to_string(u.model);
  r.get("model", model);
  const auto parsed = hal::parse_hat_model(model);
  if (!parsed) r.error(r.node("model"), "model", hal::kHatModelExpected);
  u.model = *parsed;
  r.get("i2c_bus", u.i2c_bus);
  r.get("address", u.i2c_address);
  r.get("gpio_chip", u.gpio_chip);
  r.get("gpio_line", u.power_loss_line);
  r.get("gpio_active_high", u.power_loss_active_high);
  r.get("sysfs_root", u.sysfs_root);
  r.get("sysfs_battery", u.sysfs_battery);
  r.get("sysfs_ac", u.sysfs_ac);
  r.get("pack_empty_v", u.pack_empty_v);
  r.get("pack_full_v", u.pack_full_v);
  r.get("battery_capacity_mah", u.battery_capacity_mah);
  r.get("min_charge_percent", u.min_soc_percent);
  r.get("min_runtime_s", u.min_runtime);
  r.get("grace_period_s", u.grace_period);
  r.get("poll_interval_s", u.poll_interval);
  r.get("read_retries", u.read_retries);
  r.get("optional", u.optional);
  r.get("bus", u.bus);
  r.report(hal::validate(u));
}

void read_uplink(const SectionReader& r, hal::UplinkConfig& u) {
  r.only({"enabled", "wired_interface", "lte_connection", "failover_after_s", "failback_after_s", "retry_after_s",
          "poll_interval_s", "call_timeout_ms", "bus"});
  r.get("enabled", u.enabled);
  r.get("wired_interface", u.wired_interface);
  r.get("lte_connection", u.lte_connection);
  r.get("failover_after_s", u.failover_after);
  r.get("failback_after_s", u.failback_after);
  r.get("retry_after_s", u.retry_after);
  r.get("poll_interval_s", u.poll_interval);
  r.get("call_timeout_ms", u.call_timeout);
  r.get("bus", u.bus);
  r.report(hal::validate(u));
}

}  // namespace

Result<void, Error> parse_hal_sections(const toml::table& root, const std::string& source, UpsSection& ups,
                                       UplinkSection& uplink) {
  try {
    if (const auto* t = section(root, "ups", source)) {
      ups.line = static_cast<int>(t->source().begin.line);
      read_ups(SectionReader(source, *t, "ups."), ups.config);
    }
    if (const auto* t = section(root, "uplink", source)) {
      uplink.line = static_cast<int>(t->source().begin.line);
      read_uplink(SectionReader(source, *t, "uplink."), uplink.config);
    }
  } catch (const Failure& f) {
    return fail(Error{f.message});
  }
  return {};
}

}  // namespace pisigner::config
