#include "fmnist/predict/predict.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <utility>

#include "fmnist/base/device.hpp"
#include "fmnist/base/error.hpp"
#include "fmnist/base/file_util.hpp"
#include "fmnist/base/runtime.hpp"
#include "fmnist/image/image.hpp"
#include "fmnist/image/inputs.hpp"
#include "fmnist/model/checkpoint.hpp"
#include "fmnist/model/inference.hpp"

namespace fmnist {
namespace {

namespace fs = std::filesystem;

// Keeps a saved file's name under NAME_MAX (255 bytes) with its number and ".png".
constexpr std::size_t kMaxSavedStemBytes = 200;

void check_options(const PredictOptions& options) {
  if (options.top_k < 1 || options.top_k > kNumClasses) {
    throw UsageError("--top-k: must be between 1 and " + std::to_string(kNumClasses));
  }
  if (options.batch_size < 1) throw UsageError("--batch-size: must be a number above 0");
  // `fmnist predict model.pt bag.jpg`, as `fmnist eval model.pt` takes it: show the command.
  for (const std::string& input : options.inputs) {
    std::string extension = fs::path(input).extension().string();
    if (extension != ".pt" && extension != ".pth") continue;
    std::string images;
    for (const std::string& other : options.inputs) images += other == input ? "" : " " + other;
    throw UsageError(input + " looks like a checkpoint, not an image; predict takes the model " +
                     "with --model: fmnist predict --model " + input +
                     (images.empty() ? " IMAGE..." : images));
  }
}

class ChunkPredictor {
 public:
  // The inference model (its weights stored channels-last) is built once for all chunks.
  ChunkPredictor(const PredictOptions& options, Net model, torch::Device device,
                 PredictionWriter& writer)
      : options_(options),
        model_(std::move(model), options.tta),
        device_(device),
        writer_(writer) {}

  // Predicts paths[begin, end) in one forward pass and writes them in order; returns how
  // many failed.
  std::size_t run(const std::vector<std::string>& paths, std::size_t begin, std::size_t end) {
    std::vector<Prediction> predictions(end - begin);
    std::vector<torch::Tensor> images;
    std::vector<std::size_t> slots;  // predictions[slots[j]] is images[j]'s
    std::size_t failures = 0;
    for (std::size_t i = begin; i < end; ++i) {
      Prediction& prediction = predictions[i - begin];
      prediction.input = paths[i];
      try {
        images.push_back(prepare(i, paths[i]));
        slots.push_back(i - begin);
      } catch (const Error& e) {
        report_error(e.what());
        prediction.error = e.what();
        ++failures;
      }
    }
    if (!images.empty()) {
      auto scores = classify(model_, torch::stack(images).to(device_), options_.top_k);
      for (std::size_t j = 0; j < slots.size(); ++j) predictions[slots[j]].scores = scores[j];
    }
    for (const Prediction& prediction : predictions) writer_.write(prediction);
    spdlog::debug("predicted inputs {}..{}", begin + 1, end);
    return failures;
  }

 private:
  torch::Tensor prepare(std::size_t index, const std::string& path) {
    torch::Tensor image = preprocess_image(load_image(path), path);
    if (!options_.save_input_dir.empty()) {
      write_file_atomically(fs::path(options_.save_input_dir) / saved_input_name(index, path),
                            encode_png(image));
    }
    return image;
  }

  const PredictOptions& options_;
  InferenceModel model_;
  torch::Device device_;
  PredictionWriter& writer_;
};

}  // namespace

std::vector<std::vector<ClassScore>> classify(InferenceModel& model, const torch::Tensor& inputs,
                                              std::int64_t top_k) {
  torch::InferenceMode inference;
  return top_classes(torch::softmax(model.logits(inputs), /*dim=*/1), top_k);
}

namespace {

// The top_k best of a row of `classes` scores: NaN first, as topk puts it, then the larger;
// equal scores by class number, where topk's order is unspecified (1.13 gave 7, 3, 2 for a
// tie of classes 2, 3 and 7).
template <typename Score>
std::vector<ClassScore> top_of_row(const Score* row, std::int64_t classes, std::int64_t top_k) {
  std::vector<std::int64_t> order(classes);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + top_k, order.end(),
                    [&](std::int64_t a, std::int64_t b) {
                      if (std::isnan(row[a]) || std::isnan(row[b])) {
                        return std::isnan(row[a]) && (!std::isnan(row[b]) || a < b);
                      }
                      return row[a] > row[b] || (row[a] == row[b] && a < b);
                    });
  std::vector<ClassScore> top;
  for (std::int64_t k = 0; k < top_k; ++k) top.push_back({order[k], row[order[k]]});
  return top;
}

}  // namespace

// Over the raw scores (float, or double if given double): LibTorch's topk, conversions and
// an item() per score took 9 µs of a served image.
std::vector<std::vector<ClassScore>> top_classes(const torch::Tensor& probabilities,
                                                 std::int64_t top_k) {
  torch::InferenceMode inference;
  const bool doubles = probabilities.scalar_type() == torch::kDouble;
  const torch::Tensor scores =
      probabilities.to(torch::kCPU, doubles ? torch::kDouble : torch::kFloat).contiguous();
  const std::int64_t classes = scores.size(1);
  TORCH_CHECK(top_k >= 1 && top_k <= classes, "top_classes: top_k ", top_k, " of ", classes);
  std::vector<std::vector<ClassScore>> result;
  for (std::int64_t i = 0; i < scores.size(0); ++i) {
    result.push_back(doubles ? top_of_row(scores.data_ptr<double>() + i * classes, classes, top_k)
                             : top_of_row(scores.data_ptr<float>() + i * classes, classes, top_k));
  }
  return result;
}

std::string saved_input_name(std::size_t index, const std::string& input) {
  std::string stem = fs::path(input).stem().string().substr(0, kMaxSavedStemBytes);
  return fmt::format("{:06d}-{}.png", index + 1, stem);
}

int predict_threads(int requested, const std::vector<std::string>& inputs) {
  if (requested != 0 || inputs.size() >= kFewInputFiles) return requested;
  std::uintmax_t bytes = 0;
  for (const std::string& input : inputs) {
    std::error_code ignored;  // a file that cannot be read gets its error when it is predicted
    if (input == kStdinArgument || fs::is_directory(input, ignored)) return requested;
    const std::uintmax_t size = fs::file_size(input, ignored);
    if (!ignored) bytes += size;
  }
  return bytes < kSmallInputBytes ? 1 : requested;
}

void run_predict(const PredictOptions& options, std::istream& in, std::ostream& out) {
  OutputFormat format = parse_output_format(options.format);
  check_options(options);
  if (!options.save_input_dir.empty()) {
    make_output_directory(options.save_input_dir, "--save-input " + options.save_input_dir);
  }
  configure_runtime(predict_threads(options.threads, options.inputs));
  torch::Device device = select_device(options.device);
  Checkpoint checkpoint = load_checkpoint(options.model_path, device);
  warn_if_tta_unsuited(checkpoint, options.model_path, options.tta);
  InputList inputs = collect_inputs(options.inputs, in);
  auto writer = make_prediction_writer(format, out, checkpoint.class_names, options.top_k);
  ChunkPredictor predictor(options, checkpoint.model, device, *writer);
  std::size_t failures = inputs.failures;
  auto batch = static_cast<std::size_t>(options.batch_size);
  for (std::size_t begin = 0; begin < inputs.paths.size(); begin += batch) {
    failures += predictor.run(inputs.paths, begin, std::min(begin + batch, inputs.paths.size()));
  }
  writer->finish();
  if (failures > 0) {
    throw AlreadyReported(fmt::format("{} of {} inputs could not be predicted", failures,
                                      inputs.paths.size() + inputs.failures));
  }
}

}  // namespace fmnist
