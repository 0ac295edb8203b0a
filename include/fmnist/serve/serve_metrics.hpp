#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace fmnist {

// What `fmnist serve` counts, written in Prometheus' text format (version 0.0.4) for
// GET /metrics. Safe to update from any thread.
class ServeMetrics {
 public:
  // Upper bounds of the latency histogram's buckets, in seconds.
  static constexpr std::array<double, 12> kLatencyBounds = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                                            0.05,   0.1,   0.2,   0.5,   1,    5};
  static constexpr std::array<double, 9> kBatchBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256};

  void record_request(const std::string& route, int status, double seconds);
  // A request refused before any handler ran (a body over the limit, a chunked body, a
  // malformed request): counted, but kept out of the latency histogram, which would see a 0.
  void record_refusal(const std::string& route, int status);
  void record_batch(std::int64_t images);
  void record_reload(bool ok);

  // The exposition, with the gauges' values now: images queued, requests being answered.
  std::string format(std::int64_t queued_images, int requests_in_flight) const;

 private:
  template <std::size_t N>
  struct Histogram {
    std::array<std::uint64_t, N> buckets{};  // cumulative counts are formed when written
    std::uint64_t count = 0;
    double sum = 0;
    void observe(const std::array<double, N>& bounds, double value);
  };

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram<kLatencyBounds.size()>> latency_;
  Histogram<kBatchBounds.size()> batches_;
  std::uint64_t images_ = 0;
  std::uint64_t reloads_ok_ = 0, reloads_failed_ = 0;
};

}  // namespace fmnist
