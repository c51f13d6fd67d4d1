// Prometheus text-format metrics: counters and histograms with labels, and gauges read at scrape time.
// All methods are thread-safe. Updating a metric costs one short mutex hold; scraping never blocks signing
// for longer than copying the values.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pisigner::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Registry {
 public:
  // Declares a metric family once (name, help). Re-declaring is a no-op.
  void declare_counter(const std::string& name, const std::string& help);
  void declare_histogram(const std::string& name, const std::string& help, std::vector<double> buckets);
  // Gauges are callbacks evaluated at scrape time; each returns (labels, value) samples.
  void declare_gauge(const std::string& name, const std::string& help,
                     std::function<std::vector<std::pair<Labels, double>>()> read);

  void inc(const std::string& name, const Labels& labels = {}, double by = 1.0);
  void observe(const std::string& name, double value, const Labels& labels = {});

  // Current value of a counter sample (0 if absent); for tests and pisignerctl.
  double counter_value(const std::string& name, const Labels& labels = {}) const;
  // The whole exposition, text format 0.0.4.
  std::string render() const;

 private:
  struct Histogram {
    std::vector<double> bounds;
    std::vector<std::uint64_t> counts;  // one per bound (non-cumulative) + the +Inf slot
    double sum = 0;
    std::uint64_t count = 0;
  };
  struct Family {
    enum class Type { Counter, Histogram, Gauge } type;
    std::string help;
    std::vector<double> buckets;
    std::map<Labels, double> counters;
    std::map<Labels, Histogram> histograms;
    std::function<std::vector<std::pair<Labels, double>>()> gauge;
  };
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;  // guarded by mu_
};

// Buckets from 0.1 ms to 10 s, in seconds: the sign latency histogram.
std::vector<double> latency_buckets();

}  // namespace pisigner::metrics
