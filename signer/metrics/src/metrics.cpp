#include "pisigner/metrics/metrics.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

namespace pisigner::metrics {

namespace {
std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') { out += "\\n"; continue; }
    out.push_back(c);
  }
  return out;
}

std::string format_labels(const Labels& labels, const std::string& extra_key = {}, const std::string& extra_val = {}) {
  if (labels.empty() && extra_key.empty()) return "";
  std::string s = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) s += ",";
    first = false;
    s += k + "=\"" + escape(v) + "\"";
  }
  if (!extra_key.empty()) {
    if (!first) s += ",";
    s += extra_key + "=\"" + extra_val + "\"";
  }
  return s + "}";
}

// Shortest round-trip form: bucket bounds are matched as strings ("0.1", not "0.10000000000000001").
std::string num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}
}  // namespace

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

void Registry::declare_counter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  families_.try_emplace(name, Family{Family::Type::Counter, help, {}, {}, {}, {}});
}

void Registry::declare_histogram(const std::string& name, const std::string& help, std::vector<double> buckets) {
  std::lock_guard lock(mu_);
  families_.try_emplace(name, Family{Family::Type::Histogram, help, std::move(buckets), {}, {}, {}});
}

void Registry::declare_gauge(const std::string& name, const std::string& help,
                             std::function<std::vector<std::pair<Labels, double>>()> read) {
  std::lock_guard lock(mu_);
  families_.try_emplace(name, Family{Family::Type::Gauge, help, {}, {}, {}, std::move(read)});
}

void Registry::inc(const std::string& name, const Labels& labels, double by) {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end() || it->second.type != Family::Type::Counter) return;
  it->second.counters[labels] += by;
}

void Registry::observe(const std::string& name, double value, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end() || it->second.type != Family::Type::Histogram) return;
  auto& fam = it->second;
  auto [hit, inserted] = fam.histograms.try_emplace(labels);
  auto& h = hit->second;
  if (inserted) {
    h.bounds = fam.buckets;
    h.counts.assign(fam.buckets.size() + 1, 0);
  }
  std::size_t i = 0;
  while (i < h.bounds.size() && value > h.bounds[i]) ++i;
  ++h.counts[i];
  h.sum += value;
  ++h.count;
}

double Registry::counter_value(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto c = it->second.counters.find(labels);
  return c == it->second.counters.end() ? 0 : c->second;
}

std::string Registry::render() const {
  // Gauges are read outside the lock: their callbacks take other components' locks.
  std::vector<std::pair<std::string, Family>> copy;
  {
    std::lock_guard lock(mu_);
    copy.assign(families_.begin(), families_.end());
  }
  std::ostringstream out;
  for (const auto& [name, fam] : copy) {
    const char* type = fam.type == Family::Type::Counter ? "counter"
                       : fam.type == Family::Type::Histogram ? "histogram" : "gauge";
    out << "# HELP " << name << ' ' << fam.help << "\n# TYPE " << name << ' ' << type << '\n';
    switch (fam.type) {
      case Family::Type::Counter:
        for (const auto& [labels, v] : fam.counters) out << name << format_labels(labels) << ' ' << num(v) << '\n';
        break;
      case Family::Type::Histogram:
        for (const auto& [labels, h] : fam.histograms) {
          std::uint64_t cum = 0;
          for (std::size_t i = 0; i < h.bounds.size(); ++i) {
            cum += h.counts[i];
            out << name << "_bucket" << format_labels(labels, "le", num(h.bounds[i])) << ' ' << cum << '\n';
          }
          cum += h.counts.back();
          out << name << "_bucket" << format_labels(labels, "le", "+Inf") << ' ' << cum << '\n';
          out << name << "_sum" << format_labels(labels) << ' ' << num(h.sum) << '\n';
          out << name << "_count" << format_labels(labels) << ' ' << h.count << '\n';
        }
        break;
      case Family::Type::Gauge:
        if (fam.gauge) {
          for (const auto& [labels, v] : fam.gauge()) out << name << format_labels(labels) << ' ' << num(v) << '\n';
        }
        break;
    }
  }
  return out.str();
}

}  // namespace pisigner::metrics
