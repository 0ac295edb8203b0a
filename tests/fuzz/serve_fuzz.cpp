// libFuzzer target for fmnist serve's request handler (fmnist::ServeApp::handle), without the
// socket. Run through scripts/fuzz.sh.
//
// The input picks a route and method (its first byte), then holds a Content-Type line and the
// body. Whatever it is, handle() must answer with one of the documented statuses, and every
// error as a JSON object with an "error" string; anything else (an exception escaping, a
// sanitizer report, another status) aborts.
#include <httplib.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "fmnist/model/checkpoint.hpp"
#include "fmnist/serve/server.hpp"

namespace {

std::unique_ptr<fmnist::ServeApp> app;

[[noreturn]] void fail(const std::string& what, const httplib::Response& response) {
  std::fprintf(stderr, "serve_fuzz: contract broken: %s (status %d, body %s)\n", what.c_str(),
               response.status, response.body.substr(0, 200).c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  auto path = std::filesystem::temp_directory_path() / "fmnist_serve_fuzz_model.pt";
  fmnist::Checkpoint checkpoint;
  checkpoint.model = fmnist::Net();
  fmnist::save_checkpoint(path, checkpoint);
  fmnist::ServeOptions options;
  options.model_path = path.string();
  options.device = "cpu";
  options.token = "";
  app = std::make_unique<fmnist::ServeApp>(options);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  static const char* const kTargets[][2] = {{"POST", "/v1/predict"}, {"POST", "/v1/predict"},
                                            {"POST", "/v1/predict"}, {"GET", "/v1/model"},
                                            {"GET", "/healthz"},     {"GET", "/metrics"},
                                            {"GET", "/v1/predict"},  {"POST", "/nowhere"}};
  std::string input(reinterpret_cast<const char*>(bytes), size);
  httplib::Request request;
  const auto& target = kTargets[input.empty() ? 0 : static_cast<unsigned char>(input[0]) % 8];
  request.method = target[0];
  request.path = target[1];
  std::size_t line_end = input.find('\n');
  std::string type =
      input.substr(input.empty() ? 0 : 1, line_end == std::string::npos ? 0 : line_end - 1);
  request.set_header("Content-Type", type);
  request.body = line_end == std::string::npos ? input : input.substr(line_end + 1);
  if (type.find("top_k") != std::string::npos) request.params.emplace("top_k", type.substr(0, 4));
  httplib::Response response;
  app->handle(request, response);
  static const std::set<int> kStatuses = {200, 400, 404, 405, 413, 415, 503};
  if (!kStatuses.count(response.status)) fail("unexpected status", response);
  if (response.status >= 400) {
    auto document = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (!document.is_object() || !document.contains("error") || !document["error"].is_string()) {
      fail("error without a JSON error message", response);
    }
  }
  return 0;
}
