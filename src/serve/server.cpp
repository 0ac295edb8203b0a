#include "fmnist/serve/server.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "fmnist/base/device.hpp"
#include "fmnist/base/error.hpp"
#include "fmnist/base/runtime.hpp"
#include "fmnist/image/image.hpp"
#include "fmnist/predict/predict.hpp"
#include "fmnist/predict/prediction_writer.hpp"

namespace fmnist {
namespace {

using Clock = std::chrono::steady_clock;

struct Route {
  const char* path;
  const char* method;
};
constexpr Route kRoutes[] = {{"/healthz", "GET"},
                             {"/metrics", "GET"},
                             {"/v1/model", "GET"},
                             {"/v1/predict", "POST"},
                             {"/v1/reload", "POST"}};

// A Content-Length of more digits is over any --max-body-mb (and may be past std::stoull's).
constexpr std::size_t kMaxLengthDigits = 15;

const Route* find_route(const std::string& path) {
  for (const Route& route : kRoutes) {
    if (path == route.path) return &route;
  }
  return nullptr;
}

// The route's path for metrics: a fixed set, whatever paths clients send.
std::string route_label(const std::string& path) { return find_route(path) ? path : "other"; }

// Whether the route takes the request's method; HEAD is GET without the body.
bool takes_method(const Route& route, const std::string& method) {
  return method == route.method || (method == "HEAD" && std::strcmp(route.method, "GET") == 0);
}

// The types /v1/predict reads as one image's bytes.
bool is_image_type(const std::string& type) {
  return type.rfind("image/", 0) == 0 || type == "application/octet-stream";
}

void reply_json(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  // Messages quote what clients sent, which need not be UTF-8: invalid bytes become U+FFFD.
  response.set_content(body.dump(/*indent=*/-1, /*indent_char=*/' ', /*ensure_ascii=*/false,
                                 nlohmann::json::error_handler_t::replace) +
                           "\n",
                       "application/json");
}

void reply_error(httplib::Response& response, int status, const std::string& message) {
  reply_json(response, status, {{"error", message}});
}

// What httplib itself answers (a body over the limit, a malformed request), as JSON.
std::string status_message(int status) {
  switch (status) {
    case 400:
      return "malformed request";
    case 404:
      return "no such route";
    case 413:
      return "the body is larger than --max-body-mb";
    case 414:
      return "the request line is too long";
    default:
      return "HTTP status " + std::to_string(status);
  }
}

// Compares in time that depends only on the lengths, so that a client cannot find the token
// a byte at a time.
bool equal_in_constant_time(const std::string& a, const std::string& b) {
  unsigned char difference = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    difference |= static_cast<unsigned char>(a[i] ^ (b.empty() ? 0 : b[i % b.size()]));
  }
  return difference == 0;
}

std::string lower_case(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// "image/png; charset=x" -> "image/png".
std::string media_type(const httplib::Request& request) {
  std::string type = request.get_header_value("Content-Type");
  type = type.substr(0, type.find(';'));
  type.erase(
      std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }),
      type.end());
  return lower_case(type);
}

// Whether `text` is a whole number written in decimal digits alone (no sign, no space).
bool is_digits(const std::string& text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::int64_t parse_top_k(const httplib::Request& request) {
  if (!request.has_param("top_k")) return 1;
  const std::string text = request.get_param_value("top_k");
  std::int64_t value = 0;
  if (text.size() <= 3 && is_digits(text)) value = std::stoll(text);
  if (value < 1 || value > kNumClasses) {
    throw ImageError(
        fmt::format("top_k: must be a whole number from 1 to {}, not '{}'", kNumClasses, text));
  }
  return value;
}

std::string unsupported_type_message(const std::string& type) {
  return fmt::format(
      "unsupported content type '{}': send the image's bytes as image/* or "
      "application/octet-stream (curl: -H 'Content-Type: image/jpeg' --data-binary @FILE), "
      "or files as multipart/form-data (curl: -F file=@FILE)",
      type);
}

// A mistyped parameter (?topk=3) would otherwise be ignored without a word.
void check_parameters(const httplib::Request& request) {
  for (const auto& [name, value] : request.params) {
    if (name != "top_k" && name != "name") {
      throw UsageError("unknown parameter '" + name + "' (/v1/predict takes top_k and name)");
    }
  }
}

struct Upload {
  std::string name;
  const std::string* bytes;
};

// The images a predict request carries: the body, or the files of a multipart form.
// ImageError (400) or an HTTP status in `status` (415, 413) when it carries none we take.
std::vector<Upload> uploads_of(const httplib::Request& request, int& status) {
  std::vector<Upload> uploads;
  if (request.is_multipart_form_data()) {
    for (const auto& [field, file] : request.files) {
      uploads.push_back({file.filename.empty() ? field : file.filename, &file.content});
    }
    if (uploads.empty()) throw ImageError("the form holds no files");
  } else {
    const std::string type = media_type(request);
    if (!is_image_type(type)) {
      status = 415;
      throw ImageError(unsupported_type_message(type));
    }
    const std::string name = request.has_param("name") ? request.get_param_value("name") : "image";
    uploads.push_back({name, &request.body});
  }
  if (static_cast<std::int64_t>(uploads.size()) > kMaxImagesPerRequest) {
    status = 413;
    throw ImageError(
        fmt::format("{} images in one request; at most {}", uploads.size(), kMaxImagesPerRequest));
  }
  return uploads;
}

// Throws CheckpointError unless the model answers one image with finite probabilities.
void check_model(const ServedModel& model) {
  torch::InferenceMode inference;
  torch::Tensor logits =
      model.inference->logits(torch::full({1, 1, kImageSize, kImageSize}, 0.5, model.device));
  const auto classes = static_cast<std::int64_t>(model.checkpoint.class_names.size());
  if (logits.sizes() != torch::IntArrayRef{1, classes} || !logits.isfinite().all().item<bool>()) {
    throw CheckpointError(model.path + ": the model does not give finite scores for every class");
  }
}

bool is_loopback_host(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1";
}

}  // namespace

ServeApp::ServeApp(const ServeOptions& options)
    : options_(options), device_(select_device(options.device)) {
  if (options_.max_batch < 1) throw UsageError("--max-batch: must be a number above 0");
  if (options_.max_queue != 0 && options_.max_queue < options_.max_batch) {
    throw UsageError("--max-queue: must be at least --max-batch");
  }
  std::shared_ptr<const ServedModel> model = load_model();
  BatchOptions batch;
  batch.max_batch = options_.max_batch;
  batch.batch_wait =
      std::chrono::microseconds(static_cast<std::int64_t>(options_.batch_wait_ms * 1000));
  batch.max_queued =
      options_.max_queue != 0 ? options_.max_queue : kQueueBatches * options_.max_batch;
  batch.threads = at::get_num_threads();
  queue_ = std::make_unique<BatchQueue>(
      std::move(model), batch, [this](std::int64_t images) { metrics_.record_batch(images); });

  auto handler = [this](const httplib::Request& request, httplib::Response& response) {
    handle(request, response);
  };
  http_.Get(".*", handler).Post(".*", handler).Put(".*", handler).Delete(".*", handler);
  http_.Patch(".*", handler).Options(".*", handler);
  http_.set_error_handler([this](const httplib::Request& request, httplib::Response& response) {
    if (!response.body.empty()) return;  // an answer of handle()
    // httplib refused the request at some point of reading it: what follows on the connection
    // may be the rest of it, not a request.
    response.set_header("Connection", "close");
    // httplib refuses form-encoded bodies over 8 KiB itself (413): curl's --data-binary without
    // a Content-Type, the likeliest mistake, is told what to send instead.
    if (HttpServer::request_timed_out()) {
      reply_error(response, 408,
                  fmt::format("the request did not arrive in time: {} s, and a second more for "
                              "each {} KiB of it",
                              kServeTimeoutSeconds, kServeMinBytesPerSecond / 1024));
    } else if (response.status == 413 &&
               media_type(request) == "application/x-www-form-urlencoded") {
      reply_error(response, 415, unsupported_type_message(media_type(request)));
    } else {
      reply_error(response, response.status, status_message(response.status));
    }
    metrics_.record_refusal(route_label(request.path), response.status);
  });
  http_.set_pre_routing_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        return before_reading_body(request, response);
      });
  // A client that waits for "100 Continue" before sending the body gets its refusal instead.
  http_.set_expect_100_continue_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        return refused_before_body(request, response) ? response.status : 100;
      });
  http_.set_payload_max_length(http_max_body_bytes());
  http_.set_read_timeout(kServeTimeoutSeconds);
  http_.set_write_timeout(kServeTimeoutSeconds);
  http_.set_keep_alive_timeout(kServeTimeoutSeconds);
  http_.set_keep_alive_max_count(1000);
  http_.set_tcp_nodelay(true);
  // httplib's default adds SO_REUSEPORT, with which a second server binds a port in use and
  // takes half its connections; SO_REUSEADDR alone only allows a restart over old TIME_WAITs.
  http_.set_socket_options([this](socket_t socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listening_socket_ = socket;  // the last one offered is the one bound
  });
  http_.set_max_connections(static_cast<std::size_t>(options_.max_connections));
}

std::shared_ptr<const ServedModel> ServeApp::load_model() const {
  auto model = std::make_shared<const ServedModel>(load_checkpoint(options_.model_path, device_),
                                                   options_.model_path, options_.tta);
  check_model(*model);
  return model;
}

int ServeApp::bind() {
  errno = 0;
  int port = options_.port == 0
                 ? http_.bind_to_any_port(options_.host)
                 : (http_.bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port < 0) {
    throw Error(
        fmt::format("cannot listen on {}:{}: {}", options_.host, options_.port,
                    errno ? std::strerror(errno) : "not an address of this machine (--host)"));
  }
  // httplib listens with a backlog of 5: a burst of 16 clients connecting at once overflowed it,
  // and the handshakes the kernel dropped were retried a second later (p99 1 s in
  // scripts/bench.sh --serve --quick). Listening again on a bound socket only resizes its queue.
  errno = 0;
  if (listening_socket_ == INVALID_SOCKET || ::listen(listening_socket_, SOMAXCONN) != 0) {
    spdlog::warn("could not enlarge the listen backlog ({}): a burst of clients may wait a second",
                 errno ? std::strerror(errno) : "httplib offered no socket");
  }
  return port;
}

void ServeApp::listen() { http_.listen_after_bind(); }

void ServeApp::stop() { http_.stop(); }

std::string ServeApp::reload() {
  std::lock_guard<std::mutex> lock(reload_mutex_);
  try {
    std::shared_ptr<const ServedModel> model = load_model();
    spdlog::info("reloaded {} (epoch {})", model->path, model->checkpoint.epoch);
    queue_->set_model(std::move(model));
    metrics_.record_reload(true);
    return "";
  } catch (const std::exception& error) {
    std::string why = describe(error);
    spdlog::warn("reload failed, still serving the previous model: {}", why);
    metrics_.record_reload(false);
    return why;
  }
}

// Fills `response` with a refusal when a request's body must not be read: framing that leaves
// its end a guess (HttpServer::framing_problem), chunked (httplib 0.11 would read it whole
// whatever its size), or a Content-Length that is malformed or over --max-body-mb (httplib would
// read such a body to skip it: curl uploaded 1,000 MB before its 413). The client is asked to
// close the connection.
bool ServeApp::refused_unread(const httplib::Request& request, httplib::Response& response) {
  int status = 0;
  std::string why = HttpServer::framing_problem(request);
  if (!why.empty()) {
    status = 400;
    why = "malformed request: " + why;
  } else if (request.has_header("Content-Length")) {
    const std::string length = request.get_header_value("Content-Length");
    if (!is_digits(length)) {
      status = 400;
      why = "malformed Content-Length '" + length + "'";
    } else if (length.size() > kMaxLengthDigits || std::stoull(length) > http_max_body_bytes()) {
      status = 413;
      why = status_message(status);
    }
  } else if (lower_case(request.get_header_value("Transfer-Encoding")).find("chunked") !=
             std::string::npos) {
    status = 411;
    why = "send the body with a Content-Length (curl --data-binary does), not chunked";
  }
  if (status == 0) return false;
  response.set_header("Connection", "close");
  reply_error(response, status, why);
  metrics_.record_refusal(route_label(request.path), status);
  return true;
}

// For a client waiting for "100 Continue": the refusals that need no body (its size, an
// unknown route, a wrong method, a missing token, a type /v1/predict does not take) are
// answered before it sends one. The connection closes after them.
bool ServeApp::refused_before_body(const httplib::Request& request, httplib::Response& response) {
  if (refused_unread(request, response)) return true;
  const Route* found = find_route(request.path);
  const bool refused = !found || !takes_method(*found, request.method) ||
                       (request.path != "/healthz" && !authorized(request)) ||
                       (request.path == "/v1/predict" && !request.is_multipart_form_data() &&
                        !is_image_type(media_type(request)));
  if (!refused) return false;
  handle(request, response);  // the refusal any request gets
  response.set_header("Connection", "close");
  return true;
}

// Runs before httplib reads a body. A POST, PUT or PATCH with neither a Content-Length nor a
// chunked body (`curl -X POST`) has an empty one, which httplib would call malformed.
httplib::Server::HandlerResponse ServeApp::before_reading_body(const httplib::Request& request,
                                                               httplib::Response& response) {
  if (refused_unread(request, response)) return httplib::Server::HandlerResponse::Handled;
  const bool takes_body =
      request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
  if (request.has_header("Content-Length") || !takes_body) {
    return httplib::Server::HandlerResponse::Unhandled;
  }
  handle(request, response);
  return httplib::Server::HandlerResponse::Handled;
}

bool ServeApp::authorized(const httplib::Request& request) const {
  if (options_.token.empty()) return true;
  // "Bearer TOKEN"; the scheme's name is case-insensitive (RFC 9110).
  const std::string header = request.get_header_value("Authorization");
  const std::size_t space = header.find(' ');
  const std::string scheme = lower_case(header.substr(0, space));
  const std::string token = space == std::string::npos ? "" : header.substr(space + 1);
  return scheme == "bearer" && equal_in_constant_time(token, options_.token);
}

void ServeApp::handle(const httplib::Request& request, httplib::Response& response) {
  const Clock::time_point start = Clock::now();
  ++in_flight_;
  try {
    route(request, response);
    if (response.status == -1) response.status = 200;  // httplib's "not set"
  } catch (const std::exception& error) {
    spdlog::error("{} {}: {}", request.method, request.path, describe(error));
    reply_error(response, 500, "internal error: " + describe(error));
  }
  --in_flight_;
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  metrics_.record_request(route_label(request.path), response.status, seconds);
  spdlog::debug("{} {} {} {:.3f} ms", request.method, request.path, response.status, seconds * 1e3);
}

void ServeApp::route(const httplib::Request& request, httplib::Response& response) {
  const Route* found = find_route(request.path);
  if (!found) return reply_error(response, 404, "no such route: " + request.path);
  if (!takes_method(*found, request.method)) {
    response.set_header("Allow", found->method);
    return reply_error(response, 405, fmt::format("{} takes {}", found->path, found->method));
  }
  if (request.path == "/healthz") return reply_json(response, 200, {{"status", "ok"}});
  if (!authorized(request)) {
    response.set_header("WWW-Authenticate", "Bearer");
    return reply_error(response, 401, "missing or wrong token: send Authorization: Bearer TOKEN");
  }
  if (request.path == "/metrics") {
    response.set_content(metrics_.format(queue_->queued_images(), in_flight_),
                         "text/plain; version=0.0.4; charset=utf-8");
  } else if (request.path == "/v1/model") {
    response.set_content(model()->info_json, "application/json");
  } else if (request.path == "/v1/predict") {
    predict(request, response);
  } else if (std::string why = reload(); why.empty()) {
    reply_json(response, 200,
               {{"reloaded", options_.model_path}, {"epoch", model()->checkpoint.epoch}});
  } else {
    reply_error(response, 500, why);
  }
}

void ServeApp::predict(const httplib::Request& request, httplib::Response& response) {
  torch::InferenceMode inference;  // no autograd bookkeeping on the request's tensors
  int status = 400;
  std::vector<Prediction> predictions;
  std::vector<torch::Tensor> images;
  std::vector<std::size_t> slots;  // predictions[slots[j]] is images[j]'s
  std::int64_t top_k = 1;
  try {
    // The content type first: httplib reads a form-encoded body (curl's default without -H)
    // into the parameters, which would be reported as unknown ones.
    const std::vector<Upload> uploads = uploads_of(request, status);
    check_parameters(request);
    top_k = parse_top_k(request);
    // As predict: an image that cannot be read gets its error, the others their classes.
    for (const Upload& upload : uploads) {
      predictions.push_back({upload.name, {}, {}});
      try {
        images.push_back(preprocess_image(decode_image(*upload.bytes, upload.name), upload.name));
        slots.push_back(predictions.size() - 1);
      } catch (const Error& error) {
        predictions.back().error = error.what();
      }
    }
  } catch (const Error& error) {
    return reply_error(response, status, error.what());
  }
  if (images.empty()) return reply_error(response, 400, predictions.front().error);
  if (static_cast<std::int64_t>(images.size()) > queue_->capacity()) {
    return reply_error(response, 413,
                       fmt::format("{} images in one request; the queue holds at most {} "
                                   "(--max-queue)",
                                   images.size(), queue_->capacity()));
  }
  BatchResult result;
  try {
    result =
        queue_->classify(images.size() == 1 ? images.front().unsqueeze(0) : torch::stack(images));
  } catch (const QueueFull& full) {
    response.set_header("Retry-After", "1");
    return reply_error(response, 503, std::string("busy: ") + full.what());
  }
  auto scores = top_classes(result.probabilities, top_k);
  std::ostringstream json;
  auto writer = make_prediction_writer(OutputFormat::kJson, json,
                                       result.model->checkpoint.class_names, top_k);
  for (std::size_t j = 0; j < slots.size(); ++j) predictions[slots[j]].scores = scores[j];
  for (const Prediction& prediction : predictions) writer->write(prediction);
  writer->finish();
  response.set_content(json.str(), "application/json");
}

namespace {

std::atomic<int> pending_signal{0};
std::atomic<bool> reload_requested{false};

extern "C" void on_serve_signal(int signal_number) {
  if (signal_number == SIGHUP) {
    reload_requested = true;
  } else {
    pending_signal = signal_number;
  }
}

// Installs the handlers for the life of the object; a thread turns the flags into calls.
class SignalWatcher {
 public:
  explicit SignalWatcher(ServeApp& app) {
    struct sigaction action {};
    action.sa_handler = on_serve_signal;
    sigemptyset(&action.sa_mask);
    for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
      sigaction(signal_number, &action, &previous_[signal_number]);
    }
    thread_ = std::thread([this, &app] {
      while (!done_) {
        if (reload_requested.exchange(false)) app.reload();
        if (int signal_number = pending_signal.exchange(0)) {
          spdlog::info("{}: finishing the requests in flight, then stopping",
                       signal_number == SIGINT ? "SIGINT" : "SIGTERM");
          app.stop();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }
  ~SignalWatcher() {
    done_ = true;
    thread_.join();
    for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
      sigaction(signal_number, &previous_[signal_number], nullptr);
    }
  }

 private:
  struct sigaction previous_[NSIG] {};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

void run_serve(const ServeOptions& options) {
  configure_runtime(options.threads);
  ServeApp app(options);
  int port = app.bind();
  if (!is_loopback_host(options.host)) {
    spdlog::warn("listening on {}, not only this machine{}", options.host,
                 options.token.empty() ? ": anyone who reaches the port can use it (--token)" : "");
  }
  std::shared_ptr<const ServedModel> model = app.model();
  warn_if_tta_unsuited(model->checkpoint, options.model_path, options.tta);
  // An IPv6 address takes brackets in a URL (http://[::1]:8080).
  const bool ipv6 = options.host.find(':') != std::string::npos;
  spdlog::info("serving {} (epoch {}) on http://{}{}{}:{} (batches up to {} image{}, device {})",
               options.model_path, model->checkpoint.epoch, ipv6 ? "[" : "", options.host,
               ipv6 ? "]" : "", port, options.max_batch, options.max_batch == 1 ? "" : "s",
               describe_device(model->device));
  SignalWatcher watcher(app);
  app.listen();
  spdlog::info("stopped");
}

}  // namespace fmnist
