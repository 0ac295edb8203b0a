#include "fmnist/evaluate.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <iomanip>

#include "fmnist/device.hpp"
#include "fmnist/inference.hpp"
#include "fmnist/runtime.hpp"

namespace fmnist {

std::int64_t EvalResult::count() const { return confusion.sum().item<std::int64_t>(); }

std::vector<double> EvalResult::per_class_accuracy() const {
  torch::Tensor totals = confusion.sum(/*dim=*/1).to(torch::kFloat64);
  torch::Tensor hits = confusion.diagonal().to(torch::kFloat64);
  torch::Tensor accuracy = hits / totals.clamp_min(1);
  return {accuracy.data_ptr<double>(), accuracy.data_ptr<double>() + accuracy.numel()};
}

EvalResult evaluate(Cnn& model, const Dataset& data, std::int64_t batch_size) {
  InferenceModel inference_model(model);
  torch::InferenceMode inference;
  auto device = data.labels.device();
  torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions(torch::kFloat64).device(device));
  torch::Tensor pair_counts =
      torch::zeros({kNumClasses * kNumClasses}, torch::TensorOptions(torch::kInt64).device(device));
  for (std::int64_t start = 0; start < data.size(); start += batch_size) {
    std::int64_t end = std::min(start + batch_size, data.size());
    torch::Tensor labels = data.labels.slice(/*dim=*/0, start, end);
    torch::Tensor logits =
        inference_model.logits(to_model_input(data.images.slice(/*dim=*/0, start, end)));
    loss_sum += torch::nn::functional::cross_entropy(
        logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    pair_counts += (labels * kNumClasses + logits.argmax(/*dim=*/1))
                       .bincount(/*weights=*/{}, /*minlength=*/kNumClasses * kNumClasses);
  }
  EvalResult result;
  result.confusion = pair_counts.view({kNumClasses, kNumClasses}).cpu();
  double count = static_cast<double>(data.size());
  result.metrics.loss = loss_sum.item<double>() / count;
  result.metrics.accuracy = result.confusion.diagonal().sum().item<double>() / count;
  return result;
}

void print_eval_report(const EvalResult& result, const std::vector<std::string>& class_names,
                       const std::string& split, std::ostream& out) {
  out << std::fixed << "split:    " << split << " (" << result.count() << " images)\n"
      << "loss:     " << std::setprecision(4) << result.metrics.loss << "\n"
      << "accuracy: " << std::setprecision(2) << 100.0 * result.metrics.accuracy << "%\n"
      << "per-class accuracy:\n";
  std::vector<double> per_class = result.per_class_accuracy();
  for (std::size_t c = 0; c < per_class.size(); ++c) {
    out << "  " << std::left << std::setw(12) << class_names[c] << std::right << std::setw(7)
        << std::setprecision(2) << 100.0 * per_class[c] << "%\n";
  }
}

void run_eval(const EvalOptions& options, std::ostream& out) {
  configure_runtime(options.threads);
  Split split = parse_split(options.split);
  torch::Device device = select_device(options.device);
  Checkpoint checkpoint = load_checkpoint(options.model_path, device);
  std::filesystem::path data_dir = resolve_data_dir(options.data_dir);
  Dataset data = load_dataset(data_dir, split).to(device);
  spdlog::info("evaluating {} (epoch {}) on {} split of {}, device {}", options.model_path,
               checkpoint.epoch, split_name(split), data_dir.string(), describe_device(device));
  auto start = std::chrono::steady_clock::now();
  EvalResult result = evaluate(checkpoint.model, data);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("evaluated {} images in {:.3f} s ({:.0f} img/s)", data.size(), seconds,
               data.size() / seconds);
  print_eval_report(result, checkpoint.class_names, split_name(split), out);
}

}  // namespace fmnist
