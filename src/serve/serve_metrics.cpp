#include "fmnist/serve/serve_metrics.hpp"

#include <spdlog/fmt/fmt.h>

namespace fmnist {
namespace {

template <std::size_t N>
std::string format_buckets(const std::string& name, const std::string& labels,
                           const std::array<double, N>& bounds,
                           const std::array<std::uint64_t, N>& buckets, std::uint64_t count,
                           double sum) {
  std::string text;
  std::uint64_t cumulative = 0;
  const std::string comma = labels.empty() ? "" : labels + ",";
  for (std::size_t i = 0; i < N; ++i) {
    cumulative += buckets[i];
    text += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, comma, bounds[i], cumulative);
  }
  text += fmt::format("{}_bucket{{{}le=\"+Inf\"}} {}\n", name, comma, count);
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  text += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, braces, sum, name, braces, count);
  return text;
}

}  // namespace

template <std::size_t N>
void ServeMetrics::Histogram<N>::observe(const std::array<double, N>& bounds, double value) {
  for (std::size_t i = 0; i < N; ++i) {
    if (value <= bounds[i]) {
      ++buckets[i];
      break;
    }
  }
  ++count;
  sum += value;
}

void ServeMetrics::record_request(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, status}];
  latency_[route].observe(kLatencyBounds, seconds);
}

void ServeMetrics::record_refusal(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, status}];
}

void ServeMetrics::record_batch(std::int64_t images) {
  std::lock_guard<std::mutex> lock(mutex_);
  batches_.observe(kBatchBounds, static_cast<double>(images));
  images_ += static_cast<std::uint64_t>(images);
}

void ServeMetrics::record_reload(bool ok) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++(ok ? reloads_ok_ : reloads_failed_);
}

std::string ServeMetrics::format(std::int64_t queued_images, int requests_in_flight) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string text =
      "# HELP fmnist_http_requests_total HTTP requests answered, by route and status.\n"
      "# TYPE fmnist_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    text += fmt::format("fmnist_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first,
                        key.second, count);
  }
  text +=
      "# HELP fmnist_http_request_duration_seconds Time from a request read whole to its answer.\n"
      "# TYPE fmnist_http_request_duration_seconds histogram\n";
  for (const auto& [route, histogram] : latency_) {
    text += format_buckets("fmnist_http_request_duration_seconds", "route=\"" + route + "\"",
                           kLatencyBounds, histogram.buckets, histogram.count, histogram.sum);
  }
  text +=
      "# HELP fmnist_batch_size Images per forward pass.\n"
      "# TYPE fmnist_batch_size histogram\n";
  text += format_buckets("fmnist_batch_size", "", kBatchBounds, batches_.buckets, batches_.count,
                         batches_.sum);
  text += fmt::format(
      "# HELP fmnist_queue_images Images waiting for a forward pass.\n"
      "# TYPE fmnist_queue_images gauge\n"
      "fmnist_queue_images {}\n"
      "# HELP fmnist_http_requests_in_flight Requests being answered.\n"
      "# TYPE fmnist_http_requests_in_flight gauge\n"
      "fmnist_http_requests_in_flight {}\n"
      "# HELP fmnist_images_classified_total Images classified.\n"
      "# TYPE fmnist_images_classified_total counter\n"
      "fmnist_images_classified_total {}\n"
      "# HELP fmnist_model_reloads_total Checkpoint reloads, by result.\n"
      "# TYPE fmnist_model_reloads_total counter\n"
      "fmnist_model_reloads_total{{result=\"ok\"}} {}\n"
      "fmnist_model_reloads_total{{result=\"failed\"}} {}\n",
      queued_images, requests_in_flight, images_, reloads_ok_, reloads_failed_);
  return text;
}

}  // namespace fmnist
