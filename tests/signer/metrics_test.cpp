// Prometheus text exposition (format 0.0.4) and the TimedStore decorator.
#include "pisigner/metrics/metrics.hpp"

#include <gtest/gtest.h>

#include "pisigner/core/timed_store.hpp"
#include "signer_fixtures.hpp"

namespace pisigner::metrics {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  r.declare_histogram("req_seconds", "Request latency.", {1, 2, 5});
  for (double v : {0.5, 1.0, 1.5, 3.0, 10.0}) r.observe("req_seconds", v, {{"kind", "block"}});
  const std::string t = r.render();
  EXPECT_TRUE(has_line(t, "# HELP req_seconds Request latency.")) << t;
  EXPECT_TRUE(has_line(t, "# TYPE req_seconds histogram")) << t;
  EXPECT_TRUE(has_line(t, "req_seconds_bucket{kind=\"block\",le=\"1\"} 2")) << t;  // le is inclusive
  EXPECT_TRUE(has_line(t, "req_seconds_bucket{kind=\"block\",le=\"2\"} 3")) << t;
  EXPECT_TRUE(has_line(t, "req_seconds_bucket{kind=\"block\",le=\"5\"} 4")) << t;
  EXPECT_TRUE(has_line(t, "req_seconds_bucket{kind=\"block\",le=\"+Inf\"} 5")) << t;
  EXPECT_TRUE(has_line(t, "req_seconds_sum{kind=\"block\"} 16")) << t;
  EXPECT_TRUE(has_line(t, "req_seconds_count{kind=\"block\"} 5")) << t;
}

TEST(Metrics, BucketBoundsAndValuesPrintInShortestForm) {
  Registry r;
  r.declare_histogram("lat", "h", latency_buckets());
  r.observe("lat", 0.1);
  const std::string t = r.render();
  // Prometheus matches le values as strings across scrapes and exporters: "0.1", not "0.10000000000000001".
  EXPECT_TRUE(has_line(t, "lat_bucket{le=\"0.00025\"} 0")) << t;
  EXPECT_TRUE(has_line(t, "lat_bucket{le=\"0.1\"} 1")) << t;
  EXPECT_TRUE(has_line(t, "lat_bucket{le=\"10\"} 1")) << t;
  EXPECT_TRUE(has_line(t, "lat_sum 0.1")) << t;
  EXPECT_TRUE(has_line(t, "lat_count 1")) << t;
}

TEST(Metrics, LabelValuesAreEscaped) {
  Registry r;
  r.declare_counter("c_total", "Things.");
  r.inc("c_total", {{"path", "a\"b\\c\nd"}});
  const std::string t = r.render();
  EXPECT_TRUE(has_line(t, R"(c_total{path="a\"b\\c\nd"} 1)")) << t;
  EXPECT_TRUE(has_line(t, "# TYPE c_total counter")) << t;
}

TEST(Metrics, CountersAccumulatePerLabelSet) {
  Registry r;
  r.declare_counter("c_total", "Things.");
  r.inc("c_total", {{"a", "1"}});
  r.inc("c_total", {{"a", "1"}}, 2);
  r.inc("c_total", {{"a", "2"}});
  r.inc("undeclared_total");  // ignored, never rendered
  EXPECT_EQ(r.counter_value("c_total", {{"a", "1"}}), 3);
  EXPECT_EQ(r.counter_value("c_total", {{"a", "2"}}), 1);
  EXPECT_EQ(r.counter_value("c_total", {{"a", "3"}}), 0);
  const std::string t = r.render();
  EXPECT_TRUE(has_line(t, "c_total{a=\"1\"} 3")) << t;
  EXPECT_EQ(t.find("undeclared"), std::string::npos) << t;
}

TEST(Metrics, GaugesAreReadAtScrapeTime) {
  Registry r;
  double v = 1;
  r.declare_gauge("battery_ratio", "Battery.", [&] { return std::vector<std::pair<Labels, double>>{{{}, v}}; });
  EXPECT_TRUE(has_line(r.render(), "battery_ratio 1"));
  v = 0.5;
  const std::string t = r.render();
  EXPECT_TRUE(has_line(t, "battery_ratio 0.5")) << t;
  EXPECT_TRUE(has_line(t, "# TYPE battery_ratio gauge")) << t;
}

// Advances the manual clock inside put_durable, as a slow fsync would.
class SlowStore final : public hwm::Store {
 public:
  SlowStore(hwm::Store& inner, ManualClock& clock) : inner_(inner), clock_(clock) {}
  Result<std::optional<hwm::Record>, hwm::StoreError> get(const hwm::HwmKey& k) override { return inner_.get(k); }
  Result<void, hwm::StoreError> put_durable(const hwm::HwmKey& k, const hwm::Record& r) override {
    clock_.advance(std::chrono::milliseconds(3));
    return inner_.put_durable(k, r);
  }
  Result<void, hwm::StoreError> put_signature(const hwm::HwmKey& k, const hwm::Record& r) override {
    return inner_.put_signature(k, r);
  }
  Result<std::vector<std::pair<hwm::HwmKey, hwm::Record>>, hwm::StoreError> list() override { return inner_.list(); }
  Result<void, hwm::StoreError> probe_writable() override { return inner_.probe_writable(); }

 private:
  hwm::Store& inner_;
  ManualClock& clock_;
};

TEST(TimedStore, MeasuresDurableWritesAndCountsFailures) {
  auto memory = hwm::make_memory_store();
  test::FaultyStore faulty(*memory);
  ManualClock clock;
  SlowStore slow(faulty, clock);
  Registry m;
  core::TimedStore timed(slow, m, clock);
  const hwm::HwmKey key{tezos::Kind::Block, test::chain("NetXxkAx4woPLyu"), test::pkh(test::kB1Pkh)};

  ASSERT_TRUE(timed.put_durable(key, hwm::Record{5, 0, {}, std::nullopt}).ok());
  std::string t = m.render();
  EXPECT_TRUE(has_line(t, "pisigner_store_fsync_seconds_bucket{le=\"0.0025\"} 0")) << t;
  EXPECT_TRUE(has_line(t, "pisigner_store_fsync_seconds_bucket{le=\"0.005\"} 1")) << t;
  EXPECT_TRUE(has_line(t, "pisigner_store_fsync_seconds_count 1")) << t;
  EXPECT_EQ(timed.get(key).value()->level, 5) << "writes reach the inner store";

  faulty.fail_durable = true;
  EXPECT_FALSE(timed.put_durable(key, hwm::Record{6, 0, {}, std::nullopt}).ok());
  EXPECT_EQ(m.counter_value("pisigner_store_errors_total", {{"op", "put_durable"}}), 1);
  EXPECT_EQ(timed.get(key).value()->level, 5);

  faulty.fail_at = faulty.ops + 1;
  EXPECT_FALSE(timed.probe_writable().ok());
  EXPECT_EQ(m.counter_value("pisigner_store_errors_total", {{"op", "probe"}}), 1);
  EXPECT_TRUE(timed.probe_writable().ok());
  EXPECT_EQ(timed.list().value().size(), 1u);
}

}  // namespace
}  // namespace pisigner::metrics
