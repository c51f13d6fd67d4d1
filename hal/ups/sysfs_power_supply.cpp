// power_supply class reader. Files that are missing or unparsable leave their field empty:
// drivers differ in what they expose.
#include <algorithm>
#include <charconv>
#include <fstream>
#include <system_error>

#include "pisigner/hal/power_supply.hpp"

namespace pisigner::hal {
namespace {

std::optional<std::string> read_line(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) return std::nullopt;
  std::string s;
  std::getline(in, s);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::optional<long long> read_int(const std::filesystem::path& p) {
  auto s = read_line(p);
  if (!s || s->empty()) return std::nullopt;
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || ptr != s->data() + s->size()) return std::nullopt;
  return v;
}

class SysfsPowerSupply final : public PowerSupplySource {
 public:
  explicit SysfsPowerSupply(std::filesystem::path root) : root_(std::move(root)) {}

  Result<std::vector<PowerSupplyInfo>, HalError> read_all() override {
    std::error_code ec;
    std::filesystem::directory_iterator it(root_, ec);
    if (ec) return fail(HalError{Errc::absent, root_.string() + ": " + ec.message()});
    std::vector<PowerSupplyInfo> out;
    for (const auto& entry : it) {
      const auto& d = entry.path();
      PowerSupplyInfo info;
      info.name = d.filename().string();
      info.type = read_line(d / "type").value_or("");
      if (auto v = read_int(d / "online")) info.online = *v != 0;
      if (auto v = read_int(d / "present")) info.present = *v != 0;
      if (auto v = read_int(d / "capacity")) info.capacity = static_cast<int>(std::clamp<long long>(*v, 0, 100));
      info.status = read_line(d / "status").value_or("");
      if (auto v = read_int(d / "voltage_now")) info.voltage_v = static_cast<double>(*v) / 1e6;
      if (auto v = read_int(d / "current_now")) info.current_ma = static_cast<double>(*v) / 1e3;
      out.push_back(std::move(info));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
  }

 private:
  std::filesystem::path root_;
};

}  // namespace

std::unique_ptr<PowerSupplySource> make_sysfs_power_supply(std::filesystem::path root) {
  return std::make_unique<SysfsPowerSupply>(std::move(root));
}

}  // namespace pisigner::hal
