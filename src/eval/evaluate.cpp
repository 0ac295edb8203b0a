#include "fmnist/eval/evaluate.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "fmnist/base/device.hpp"
#include "fmnist/base/runtime.hpp"
#include "fmnist/eval/eval_plots.hpp"
#include "fmnist/eval/eval_report.hpp"
#include "fmnist/model/inference.hpp"

namespace fmnist {

std::int64_t EvalResult::count() const { return confusion.sum().item<std::int64_t>(); }

std::int64_t EvalResult::errors() const {
  return count() - confusion.diagonal().sum().item<std::int64_t>();
}

EvalResult evaluate(Net& model, const Dataset& data, std::int64_t batch_size, bool tta) {
  InferenceModel inference_model(model, tta);
  torch::InferenceMode inference;
  auto device = data.labels.device();
  torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions(torch::kFloat64).device(device));
  torch::Tensor pair_counts =
      torch::zeros({kNumClasses * kNumClasses}, torch::TensorOptions(torch::kInt64).device(device));
  std::vector<torch::Tensor> predictions, confidences, true_class_probabilities;
  for (std::int64_t start = 0; start < data.size(); start += batch_size) {
    std::int64_t end = std::min(start + batch_size, data.size());
    torch::Tensor labels = data.labels.slice(/*dim=*/0, start, end);
    torch::Tensor logits =
        inference_model.logits(to_model_input(data.images.slice(/*dim=*/0, start, end)));
    loss_sum += torch::nn::functional::cross_entropy(
        logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    torch::Tensor probabilities = logits.softmax(/*dim=*/1);
    auto [confidence, predicted] = probabilities.max(/*dim=*/1);
    true_class_probabilities.push_back(
        probabilities.gather(/*dim=*/1, labels.unsqueeze(1)).squeeze(1));
    pair_counts += (labels * kNumClasses + predicted)
                       .bincount(/*weights=*/{}, /*minlength=*/kNumClasses * kNumClasses);
    predictions.push_back(predicted);
    confidences.push_back(confidence);
  }
  EvalResult result;
  result.confusion = pair_counts.view({kNumClasses, kNumClasses}).cpu();
  result.predicted = torch::cat(predictions).cpu();
  result.confidence = torch::cat(confidences).cpu();
  result.true_class_probability = torch::cat(true_class_probabilities).cpu();
  double count = static_cast<double>(data.size());
  result.metrics.loss = loss_sum.item<double>() / count;
  result.metrics.accuracy = result.confusion.diagonal().sum().item<double>() / count;
  return result;
}

void run_eval(const EvalOptions& options, std::ostream& out) {
  // Where the plots go is checked before the evaluation: a bad --plots first of all (a usage
  // error), the default place beside the model once the model has loaded, so that a missing
  // model is reported as such.
  std::optional<EvalPlotPaths> plot_paths;
  auto check_plot_paths = [&] {
    if (!options.no_plots && !plot_paths) {
      plot_paths = eval_plot_paths(options.model_path, options.plots_dir, options.tta);
    }
  };
  if (options.plots_dir) check_plot_paths();
  configure_runtime(options.threads);
  Split split = parse_split(options.split);
  torch::Device device = select_device(options.device);
  Checkpoint checkpoint = load_checkpoint(options.model_path, device);
  check_plot_paths();
  warn_if_tta_unsuited(checkpoint, options.model_path, options.tta);
  std::filesystem::path data_dir = resolve_data_dir(options.data_dir);
  Dataset data = load_dataset(data_dir, split).to(device);
  spdlog::info("evaluating {} (epoch {}) on {} split of {}, device {}{}", options.model_path,
               checkpoint.epoch, split_name(split), data_dir.string(), describe_device(device),
               options.tta ? ", with test-time augmentation (mirror)" : "");
  auto start = std::chrono::steady_clock::now();
  EvalResult result = evaluate(checkpoint.model, data, kEvalBatchSize, options.tta);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("evaluated {} images in {:.3f} s ({:.0f} img/s)", data.size(), seconds,
               data.size() / seconds);
  EvalReport report{options.model_path, checkpoint.epoch, split_name(split), checkpoint.class_names,
                    std::move(result),  plot_paths,       options.tta};
  if (report.plots && report.result.errors() == 0) report.plots->errors.reset();
  if (report.plots) {
    write_eval_plots(report, data.images.cpu(), data.labels.cpu(), *report.plots);
  }
  out << (options.json ? format_eval_json(report) : format_eval_text(report));
}

}  // namespace fmnist
