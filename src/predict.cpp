#include "fmnist/predict.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "fmnist/checkpoint.hpp"
#include "fmnist/device.hpp"
#include "fmnist/error.hpp"
#include "fmnist/image.hpp"
#include "fmnist/inference.hpp"
#include "fmnist/runtime.hpp"

namespace fmnist {
namespace {

struct PreparedInputs {
  std::vector<std::string> names;
  std::vector<torch::Tensor> tensors;
  std::size_t failures = 0;
};

PreparedInputs prepare_inputs(const std::vector<std::string>& paths) {
  PreparedInputs prepared;
  for (const std::string& path : paths) {
    try {
      prepared.tensors.push_back(preprocess_image(load_image(path), path));
      prepared.names.push_back(path);
    } catch (const Error& e) {
      report_error(e.what());
      ++prepared.failures;
    }
  }
  return prepared;
}

std::string format_scores(const std::vector<ClassScore>& scores,
                          const std::vector<std::string>& class_names) {
  std::string line;
  for (const ClassScore& score : scores) {
    if (!line.empty()) line += ", ";
    line += fmt::format("{} {:.1f}%", class_names[score.label], 100 * score.probability);
  }
  return line;
}

}  // namespace

std::vector<std::vector<ClassScore>> classify(Cnn& model, const torch::Tensor& inputs,
                                              std::int64_t top_k) {
  torch::InferenceMode inference;
  auto [probabilities, labels] =
      torch::softmax(InferenceModel(model).logits(inputs), /*dim=*/1).topk(top_k);
  probabilities = probabilities.to(torch::kCPU, torch::kFloat64);
  labels = labels.to(torch::kCPU);
  std::vector<std::vector<ClassScore>> result(inputs.size(0));
  for (std::int64_t i = 0; i < inputs.size(0); ++i) {
    for (std::int64_t k = 0; k < top_k; ++k) {
      result[i].push_back({labels[i][k].item<std::int64_t>(), probabilities[i][k].item<double>()});
    }
  }
  return result;
}

void run_predict(const PredictOptions& options, std::ostream& out) {
  if (options.top_k < 1 || options.top_k > kNumClasses) {
    throw UsageError("--top-k: must be between 1 and " + std::to_string(kNumClasses));
  }
  configure_runtime(options.threads);
  torch::Device device = select_device(options.device);
  Checkpoint checkpoint = load_checkpoint(options.model_path, device);
  PreparedInputs inputs = prepare_inputs(options.images);
  if (!inputs.tensors.empty()) {
    torch::Tensor batch = torch::stack(inputs.tensors).to(device);
    auto scores = classify(checkpoint.model, batch, options.top_k);
    for (std::size_t i = 0; i < scores.size(); ++i) {
      out << inputs.names[i] << ": " << format_scores(scores[i], checkpoint.class_names) << "\n";
    }
  }
  if (inputs.failures > 0) {
    throw AlreadyReported(fmt::format("{} of {} images could not be predicted", inputs.failures,
                                      options.images.size()));
  }
}

}  // namespace fmnist
