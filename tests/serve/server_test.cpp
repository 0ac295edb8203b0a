#include "fmnist/serve/server.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "fmnist/base/error.hpp"
#include "fmnist/predict/predict.hpp"
#include "fmnist/report/summary.hpp"
#include "serve/raw_connection.hpp"
#include "test_util.hpp"

namespace fmnist {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void save_resnet_checkpoint(const fs::path& path) {
  torch::manual_seed(5);
  Checkpoint checkpoint;
  checkpoint.arch = kResNetArch;
  checkpoint.model = Net(kResNetArch);
  save_checkpoint(path, checkpoint);
}

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::save_fresh_checkpoint(model_path(), /*seed=*/7);
    items_ = testing::make_split(/*count=*/10, /*seed=*/3).images;
  }

  void TearDown() override { stop(); }

  fs::path model_path() const { return dir_ / "model.pt"; }

  ServeOptions options() const {
    ServeOptions options;
    options.model_path = model_path().string();
    options.port = 0;
    options.device = "cpu";
    return options;
  }

  void start(const ServeOptions& options) {
    app_ = std::make_unique<ServeApp>(options);
    port_ = app_->bind();
    thread_ = std::thread([this] { app_->listen(); });
  }

  void stop() {
    if (!app_) return;
    app_->stop();
    thread_.join();
    app_.reset();
  }

  // Serves the residual network, slow enough on 200 images that requests pile up, with room
  // for 200 queued images; returns a form of 200 images.
  httplib::MultipartFormDataItems start_slow_server() {
    save_resnet_checkpoint(model_path());
    ServeOptions slow = options();
    slow.max_batch = 200;
    slow.max_queue = 200;
    start(slow);
    httplib::MultipartFormDataItems items;
    for (int i = 0; i < 200; ++i) items.push_back({"file", png(i % 10), "x.png", "image/png"});
    return items;
  }

  httplib::Client client() const {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(30);
    return client;
  }

  std::string png(std::int64_t index) const {
    return testing::png_bytes(items_[index].unsqueeze(2));
  }

  std::string write_item(std::int64_t index) {
    fs::path path = dir_ / ("item" + std::to_string(index) + ".png");
    testing::write_bytes(path, png(index));
    return path.string();
  }

  // What `fmnist predict --format json --top-k top_k` writes for `inputs`.
  std::string predict_json(const std::vector<std::string>& inputs, std::int64_t top_k) {
    PredictOptions options;
    options.inputs = inputs;
    options.model_path = model_path().string();
    options.device = "cpu";
    options.top_k = top_k;
    options.format = "json";
    std::istringstream in;
    std::ostringstream out;
    ::testing::internal::CaptureStderr();
    try {
      run_predict(options, in, out);
    } catch (const AlreadyReported&) {  // some inputs failed: their errors are in the document
    }
    ::testing::internal::GetCapturedStderr();
    return out.str();
  }

  // Sends `request` as it is over a new connection and returns the server's first response
  // (headers and the body its Content-Length gives), or what came within 2 seconds.
  std::string raw_exchange(const std::string& request) const {
    testing::RawConnection connection(port_);
    return connection.send(request) ? connection.read_response() : "";
  }

  static std::string error_of(const httplib::Result& result) {
    return json::parse(result->body).at("error").get<std::string>();
  }

  testing::TempDir dir_;
  torch::Tensor items_;
  std::unique_ptr<ServeApp> app_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(ServeTest, AnswersTheSameJsonAsPredict) {
  start(options());
  std::string path = write_item(3);
  auto result = client().Post("/v1/predict?top_k=3&name=" + path, png(3), "image/png");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(result->body, predict_json({path}, /*top_k=*/3));
}

TEST_F(ServeTest, MultipartFormsClassifyEveryFileInOrder) {
  start(options());
  std::vector<std::string> paths = {write_item(1), write_item(2), write_item(5)};
  httplib::MultipartFormDataItems items;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    items.push_back({"file", testing::read_bytes(paths[i]), paths[i], "image/png"});
  }
  auto result = client().Post("/v1/predict?top_k=2", items);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, predict_json(paths, /*top_k=*/2));
}

TEST_F(ServeTest, AnUnreadableFileOfAFormGetsItsErrorAndTheOthersTheirClasses) {
  start(options());
  std::vector<std::string> paths = {(dir_ / "notes.txt").string(), write_item(2)};
  testing::write_bytes(paths[0], "not an image");
  httplib::MultipartFormDataItems items;
  for (const std::string& path : paths) {
    items.push_back({"file", testing::read_bytes(path), path, "application/octet-stream"});
  }
  auto result = client().Post("/v1/predict", items);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, predict_json(paths, /*top_k=*/1));
  json document = json::parse(result->body);
  EXPECT_EQ(document["failed"], 1);
  EXPECT_NE(document["predictions"][0]["error"].get<std::string>().find("notes.txt"),
            std::string::npos);
  EXPECT_EQ(document["predictions"][1]["top"].size(), 1u);
}

TEST_F(ServeTest, ModelRouteIsInfoJson) {
  start(options());
  auto result = client().Get("/v1/model");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  Checkpoint checkpoint = load_checkpoint(model_path(), torch::kCPU);
  EXPECT_EQ(result->body, format_checkpoint_json(checkpoint, model_path().string()));
  json document = json::parse(result->body);
  EXPECT_EQ(document["arch"], "cnn");
  EXPECT_EQ(document["parameters"], 225034);
  EXPECT_TRUE(document["metrics"]["test"]["accuracy"].is_null());
}

TEST_F(ServeTest, HealthAndMetrics) {
  start(options());
  auto health = client().Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body)["status"], "ok");
  client().Post("/v1/predict", png(0), "image/png");
  auto metrics = client().Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->get_header_value("Content-Type").find("text/plain; version=0.0.4"),
            std::string::npos);
  for (const char* line :
       {"fmnist_http_requests_total{route=\"/healthz\",status=\"200\"} 1\n",
        "fmnist_http_requests_total{route=\"/v1/predict\",status=\"200\"} 1\n",
        "fmnist_images_classified_total 1\n", "fmnist_batch_size_count 1\n",
        "fmnist_batch_size_bucket{le=\"1\"} 1\n", "fmnist_queue_images 0\n",
        "fmnist_http_request_duration_seconds_count{route=\"/v1/predict\"} 1\n"}) {
    EXPECT_NE(metrics->body.find(line), std::string::npos) << line << "\nin\n" << metrics->body;
  }
}

// A body over --max-body-mb is refused from its Content-Length, before the client sends it (the
// request below never does: the answer comes at once, not after the 5 s read timeout), also to
// a client that waits for "100 Continue"; a malformed length is a 400.
TEST_F(ServeTest, BodyOverTheLimitIsRefusedBeforeItIsSent) {
  ServeOptions small = options();
  small.max_body_mb = 0.01;  // 10 KiB
  start(small);
  const std::string head =
      "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: ";
  for (const char* expect : {"", "Expect: 100-continue\r\n"}) {
    std::string answer = raw_exchange(head + "20000000\r\n" + expect + "\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << expect << answer;
    EXPECT_NE(answer.find("larger than --max-body-mb"), std::string::npos) << answer;
  }
  for (const char* length : {"abc", "-5"}) {
    std::string answer = raw_exchange(head + length + "\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << length << ": " << answer;
    EXPECT_NE(answer.find("malformed Content-Length"), std::string::npos) << answer;
  }
}

// curl --data-binary without -H sends a form-encoded type, whose body httplib reads into the
// parameters: the answer is the content-type hint, not an unknown parameter.
TEST_F(ServeTest, FormEncodedSmallImageGetsTheContentTypeHint) {
  start(options());
  auto result = client().Post("/v1/predict", png(0), "application/x-www-form-urlencoded");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 415);
  EXPECT_NE(error_of(result).find("--data-binary"), std::string::npos) << error_of(result);
}

// A PUT without a body gets 405 like one with a body, not "malformed request".
TEST_F(ServeTest, WrongMethodWithoutABodyIs405) {
  start(options());
  std::string answer = raw_exchange("PUT /v1/predict HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 405", 0), 0u) << answer;
}

// A body refused before it is read counts as a request, but no handler ran to time: the
// latency histogram sees only the request that was answered.
TEST_F(ServeTest, RefusalsAreCountedButNotTimed) {
  ServeOptions small = options();
  small.max_body_mb = 0.01;  // 10 KiB
  start(small);
  httplib::Client c = client();
  EXPECT_EQ(c.Post("/v1/predict", png(0), "image/png")->status, 200);
  EXPECT_EQ(c.Post("/v1/predict", std::string(20000, 'x'), "image/png")->status, 413);
  std::string metrics = c.Get("/metrics")->body;
  for (const char* line :
       {"fmnist_http_requests_total{route=\"/v1/predict\",status=\"413\"} 1\n",
        "fmnist_http_request_duration_seconds_count{route=\"/v1/predict\"} 1\n"}) {
    EXPECT_NE(metrics.find(line), std::string::npos) << line << "\nin\n" << metrics;
  }
}

// The refusal leaves the body unread: it must not be read as a request.
TEST_F(ServeTest, ARefusedBodyIsNotReadAsTheNextRequest) {
  ServeOptions small = options();
  small.max_body_mb = 0.01;  // 10 KiB
  start(small);
  testing::RawConnection connection(port_);
  ASSERT_TRUE(
      connection.send("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                      "Content-Length: 20000\r\n\r\nGET /v1/model HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string answer = connection.read_response();
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_TRUE(connection.ends_without_more());
}

TEST_F(ServeTest, AmbiguousFramingIsRefused) {
  start(options());
  const std::string answer = raw_exchange(
      "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length : "
      "5\r\n\r\nxxxxx");
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  EXPECT_NE(answer.find("a header name with a space in it ('Content-Length ')"), std::string::npos)
      << answer;
}

// httplib stops reading a request at its bad line: the lines after it are not more requests.
TEST_F(ServeTest, AMalformedRequestIsAnsweredOnce) {
  start(options());
  testing::RawConnection connection(port_);
  ASSERT_TRUE(connection.send("BAD\r\nHost: x\r\nAccept: */*\r\nUser-Agent: y\r\n\r\n"));
  EXPECT_EQ(connection.read_response().rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_TRUE(connection.ends_without_more());
  const std::string metrics = client().Get("/metrics")->body;
  EXPECT_NE(metrics.find("fmnist_http_requests_total{route=\"other\",status=\"400\"} 1\n"),
            std::string::npos)
      << metrics;
}

// A client waiting for "100 Continue" is refused before it sends a body no one would read.
TEST_F(ServeTest, RefusalsThatNeedNoBodyComeBeforeAContinue) {
  ServeOptions guarded = options();
  guarded.token = "s3cret";
  start(guarded);
  const std::string head = "Host: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n";
  for (const auto& [request, status] : std::vector<std::pair<std::string, std::string>>{
           {"POST /v1/predict HTTP/1.1\r\nContent-Type: image/png\r\n", "401"},
           {"POST /v1/predict HTTP/1.1\r\nAuthorization: Bearer s3cret\r\nContent-Type: "
            "text/plain\r\n",
            "415"},
           {"POST /v2/predict HTTP/1.1\r\n", "404"},
           {"POST /v1/model HTTP/1.1\r\n", "405"}}) {
    testing::RawConnection connection(port_);
    ASSERT_TRUE(connection.send(request + head + "\r\n"));
    const std::string answer = connection.read_response();
    EXPECT_EQ(answer.rfind("HTTP/1.1 " + status, 0), 0u) << request << answer;
    EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  }
  testing::RawConnection connection(port_);
  ASSERT_TRUE(connection.send(
      "POST /v1/predict HTTP/1.1\r\nAuthorization: Bearer s3cret\r\nContent-Type: image/png\r\n" +
      head + "\r\n"));
  EXPECT_EQ(connection.read_response(), "HTTP/1.1 100 Continue\r\n\r\n");
}

// A request that stops arriving is answered 408 with the rule, not "malformed request".
TEST_F(ServeTest, ARequestThatDoesNotArriveInTimeGets408) {
  start(options());
  testing::RawConnection connection(port_, /*timeout_s=*/kServeTimeoutSeconds + 5);
  ASSERT_TRUE(
      connection.send("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                      "Content-Length: 100\r\n\r\nonly part of it"));
  const std::string answer = connection.read_response();
  EXPECT_EQ(answer.rfind("HTTP/1.1 408", 0), 0u) << answer;
  EXPECT_NE(answer.find("did not arrive in time"), std::string::npos) << answer;
}

TEST_F(ServeTest, BadRequestsGetAStatusAndAJsonError) {
  ServeOptions small = options();
  small.max_body_mb = 0.01;  // 10 KiB
  start(small);
  httplib::Client c = client();
  auto not_image = c.Post("/v1/predict", "hello", "image/png");
  ASSERT_TRUE(not_image);
  EXPECT_EQ(not_image->status, 400);
  EXPECT_NE(error_of(not_image).find("image"), std::string::npos);
  std::string truncated = png(0).substr(0, 60);
  EXPECT_EQ(c.Post("/v1/predict", truncated, "image/png")->status, 400);
  EXPECT_EQ(c.Post("/v1/predict", "", "image/png")->status, 400);
  auto too_big = c.Post("/v1/predict", std::string(20000, 'x'), "image/png");
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);
  EXPECT_FALSE(error_of(too_big).empty());
  auto form = httplib::Client("127.0.0.1", port_).Post("/v1/predict", png(0), "text/plain");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 415);
  EXPECT_NE(error_of(form).find("Content-Type: image/jpeg"), std::string::npos);
  auto unlabelled = c.Post("/v1/predict", std::string(9000, 'x'),  // curl's default type
                           "application/x-www-form-urlencoded");
  EXPECT_EQ(unlabelled->status, 415);
  EXPECT_NE(error_of(unlabelled).find("--data-binary"), std::string::npos);
  auto bad_k = c.Post("/v1/predict?top_k=11", png(0), "image/png");
  EXPECT_EQ(bad_k->status, 400);
  EXPECT_NE(error_of(bad_k).find("top_k"), std::string::npos);
  auto not_utf8 = c.Post("/v1/predict", png(0), "text/\xf2\xf2");  // found by serve_fuzz
  EXPECT_EQ(not_utf8->status, 415);
  EXPECT_FALSE(error_of(not_utf8).empty());
  auto misspelt = c.Post("/v1/predict?topk=3", png(0), "image/png");
  EXPECT_EQ(misspelt->status, 400);
  EXPECT_NE(error_of(misspelt).find("'topk'"), std::string::npos);
  auto chunked = c.Post(
      "/v1/predict",
      [&](std::size_t, httplib::DataSink& sink) {
        sink.write("abc", 3);
        sink.done();
        return true;
      },
      "image/png");
  // Refused unread (httplib would read it whole past --max-body-mb), and the connection
  // closed: a client still sending may see the reset before the 411.
  if (chunked) {
    EXPECT_EQ(chunked->status, 411);
    EXPECT_NE(error_of(chunked).find("Content-Length"), std::string::npos);
  }
  auto unknown = client().Get("/v2/predict");
  EXPECT_EQ(unknown->status, 404);
  EXPECT_FALSE(error_of(unknown).empty());
  auto wrong_method = c.Get("/v1/predict");
  EXPECT_EQ(wrong_method->status, 405);
  EXPECT_EQ(wrong_method->get_header_value("Allow"), "POST");
  EXPECT_EQ(c.Delete("/healthz")->status, 405);
  EXPECT_EQ(c.Post("/v1/predict", png(0), "image/png")->status, 200);  // still serving
}

TEST_F(ServeTest, TokenGuardsEveryRouteButHealth) {
  ServeOptions guarded = options();
  guarded.token = "s3cret";
  start(guarded);
  httplib::Client c = client();
  EXPECT_EQ(c.Get("/healthz")->status, 200);
  auto missing = c.Get("/v1/model");
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(missing->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(c.Get("/metrics", {{"Authorization", "Bearer s3creT"}})->status, 401);
  EXPECT_EQ(c.Get("/metrics", {{"Authorization", "Bearer s3cret2"}})->status, 401);
  EXPECT_EQ(c.Get("/metrics", {{"Authorization", "Bearer s3cret"}})->status, 200);
  EXPECT_EQ(c.Get("/metrics", {{"Authorization", "bearer s3cret"}})->status, 200);
  EXPECT_EQ(c.Get("/metrics", {{"Authorization", "s3cret"}})->status, 401);
  EXPECT_EQ(c.Post("/v1/predict", png(0), "image/png")->status, 401);
  EXPECT_EQ(c.Post("/v1/reload", "", "text/plain")->status, 401);
}

TEST_F(ServeTest, ConcurrentClientsAreBatched) {
  ServeOptions batching = options();
  batching.max_batch = 8;
  batching.batch_wait_ms = 2;
  start(batching);
  const json expected = json::parse(client().Post("/v1/predict", png(4), "image/png")->body);
  const json& top = expected["predictions"][0]["top"][0];
  constexpr int kClients = 16, kRequests = 30;
  std::atomic<int> wrong{0};
  std::string last_wrong;
  std::mutex mutex;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      httplib::Client c = client();
      for (int r = 0; r < kRequests; ++r) {
        auto result = c.Post("/v1/predict", png(4), "image/png");
        // In a batch the float sums run in another order: equal within 1e-5, not bit for bit.
        bool right = result && result->status == 200;
        if (right) {
          const json document = json::parse(result->body);
          const json& got = document["predictions"][0]["top"][0];
          right =
              got["label"] == top["label"] &&
              std::abs(got["probability"].get<double>() - top["probability"].get<double>()) <= 1e-5;
        }
        if (!right) {
          ++wrong;
          std::lock_guard<std::mutex> lock(mutex);
          last_wrong = result ? std::to_string(result->status) + " " + result->body
                              : httplib::to_string(result.error());
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(wrong, 0) << last_wrong;
  std::string metrics = client().Get("/metrics")->body;
  auto value = [&](const std::string& name) {
    std::size_t at = metrics.find("\n" + name + " ");
    EXPECT_NE(at, std::string::npos) << name;
    return std::stod(metrics.substr(at + name.size() + 2));
  };
  EXPECT_EQ(value("fmnist_images_classified_total"), kClients * kRequests + 1);
  EXPECT_LT(value("fmnist_batch_size_count"), (kClients * kRequests + 1) / 2)
      << "few batches of more than one image formed";
}

TEST_F(ServeTest, AFullQueueAnswers503WithRetryAfter) {
  const httplib::MultipartFormDataItems items = start_slow_server();
  std::vector<int> statuses(3);
  std::vector<std::string> retry(3);
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&, i] {
      auto result = client().Post("/v1/predict", items);
      statuses[i] = result ? result->status : -1;
      if (result) retry[i] = result->get_header_value("Retry-After");
    });
  }
  for (std::thread& t : clients) t.join();
  int busy = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(statuses[i] == 200 || statuses[i] == 503) << statuses[i];
    if (statuses[i] == 503) {
      ++busy;
      EXPECT_EQ(retry[i], "1");
    }
  }
  EXPECT_GE(busy, 1);
  EXPECT_LE(busy, 2);
}

TEST_F(ServeTest, ReloadSwapsInAGoodCheckpointAndKeepsTheOldOneForABrokenFile) {
  start(options());
  httplib::Client c = client();
  const std::string before = c.Post("/v1/predict", png(2), "image/png")->body;
  testing::save_fresh_checkpoint(model_path(), /*seed=*/8);
  auto reloaded = c.Post("/v1/reload");  // no body, no Content-Length: as `curl -X POST`
  ASSERT_TRUE(reloaded);
  EXPECT_EQ(reloaded->status, 200);
  const std::string after = c.Post("/v1/predict", png(2), "image/png")->body;
  EXPECT_NE(after, before);
  testing::write_bytes(model_path(), "not a checkpoint");
  auto broken = c.Post("/v1/reload", "", "text/plain");
  ASSERT_TRUE(broken);
  EXPECT_EQ(broken->status, 500);
  EXPECT_NE(error_of(broken).find("model.pt"), std::string::npos);
  EXPECT_EQ(c.Post("/v1/predict", png(2), "image/png")->body, after);
  EXPECT_NE(c.Get("/metrics")->body.find("fmnist_model_reloads_total{result=\"failed\"} 1"),
            std::string::npos);
}

TEST_F(ServeTest, StopAnswersTheRequestsInFlight) {
  const httplib::MultipartFormDataItems items = start_slow_server();
  int status = -1;
  std::thread request([&] {
    auto result = client().Post("/v1/predict", items);
    status = result ? result->status : -2;
  });
  while (app_->requests_in_flight() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop();
  request.join();
  EXPECT_EQ(status, 200);
  EXPECT_FALSE(client().Get("/healthz"));  // no longer listening
}

TEST_F(ServeTest, APortInUseIsAnError) {
  start(options());
  ServeOptions same = options();
  same.port = port_;
  ServeApp second(same);
  try {
    second.bind();
    FAIL() << "bound a port in use";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(std::to_string(port_)), std::string::npos);
  }
}

}  // namespace
}  // namespace fmnist
