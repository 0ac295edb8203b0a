#pragma once

#include <httplib.h>

#include <torch/torch.h>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "fmnist/serve/batch_queue.hpp"
#include "fmnist/serve/http_server.hpp"
#include "fmnist/serve/serve_metrics.hpp"

namespace fmnist {

struct ServeOptions {
  std::string model_path = "model.pt";
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string device = "auto";
  int threads = 0;  // LibTorch's threads for the forward passes; 0: one per core
  std::int64_t max_batch = 64;
  double batch_wait_ms = 0;
  std::int64_t max_queue = 0;  // images waiting for a forward pass; 0: kQueueBatches batches

  double max_body_mb = 10;
  int max_connections = 64;  // served at once; more wait to be accepted
  bool tta = false;
  std::string token;  // empty: no authorization
};

// The queue's default bound, in batches of --max-batch.
inline constexpr std::int64_t kQueueBatches = 16;

// Images per call of /v1/predict, and how long a client may stay silent while sending or reading.
inline constexpr std::int64_t kMaxImagesPerRequest = 256;
inline constexpr int kServeTimeoutSeconds = 5;

// `fmnist serve`'s HTTP application: the loaded model, its batch queue, the routes and their
// metrics. Every request goes through handle(), which never throws: errors are answered as
// {"error": "..."} with their status.
class ServeApp {
 public:
  // Loads the checkpoint; Error/UsageError as `predict` gives them.
  explicit ServeApp(const ServeOptions& options);
  ServeApp(const ServeApp&) = delete;
  ServeApp& operator=(const ServeApp&) = delete;

  // Binds options.port (0: a free one) and returns the port; Error when it cannot.
  int bind();
  // Serves until stop(); the requests in flight are answered before it returns.
  void listen();
  void stop();

  // Loads the checkpoint again and swaps it in once it passed a forward pass; on failure the
  // old model stays. Returns "" or why it failed.
  std::string reload();

  // One request, as the HTTP server hands it over (for tests and the fuzzer too).
  void handle(const httplib::Request& request, httplib::Response& response);

  std::shared_ptr<const ServedModel> model() const { return queue_->model(); }
  int requests_in_flight() const { return in_flight_; }

 private:
  void route(const httplib::Request& request, httplib::Response& response);
  void predict(const httplib::Request& request, httplib::Response& response);
  bool authorized(const httplib::Request& request) const;
  bool refused_unread(const httplib::Request& request, httplib::Response& response);
  bool refused_before_body(const httplib::Request& request, httplib::Response& response);
  httplib::Server::HandlerResponse before_reading_body(const httplib::Request& request,
                                                       httplib::Response& response);
  std::uint64_t http_max_body_bytes() const {
    return static_cast<std::uint64_t>(options_.max_body_mb * 1024 * 1024);
  }
  std::shared_ptr<const ServedModel> load_model() const;

  const ServeOptions options_;
  const torch::Device device_;
  ServeMetrics metrics_;
  std::unique_ptr<BatchQueue> queue_;
  std::mutex reload_mutex_;
  std::atomic<int> in_flight_{0};
  HttpServer http_;
  socket_t listening_socket_ = INVALID_SOCKET;
};

// `fmnist serve`: serves until SIGINT or SIGTERM (then exits 0 once the requests in flight
// are answered); SIGHUP reloads the checkpoint.
void run_serve(const ServeOptions& options);

}  // namespace fmnist
