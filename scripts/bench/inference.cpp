// fmnist's batched inference over the test split, timed as scripts/bench/onnx_eval.mjs times
// ONNX Runtime's: the same batch, two passes, the first creating oneDNN's primitives (as
// `fmnist eval`'s one pass does), the second the steady state. Built by scripts/bench.sh as
// the CMake target bench_inference (not part of the default build).
//
// usage: bench_inference MODEL.pt DATA_DIR --threads N [--batch 256]
// Prints fm_infer_first_pass_img_s, fm_infer_img_s and fm_infer_test_acc on stdout.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "fmnist/base/runtime.hpp"
#include "fmnist/data/dataset.hpp"
#include "fmnist/model/checkpoint.hpp"
#include "fmnist/model/inference.hpp"

namespace {

int option(int argc, char** argv, const char* name, int fallback) {
  for (int i = 3; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::stoi(argv[i + 1]);
  }
  return fallback;
}

struct Pass {
  double images_per_second;
  std::int64_t correct;
};

// `inputs` are the whole split already scaled to [0, 1], as onnx_eval.mjs converts its pixels
// before it times anything.
Pass timed_pass(fmnist::InferenceModel& model, const torch::Tensor& inputs,
                const torch::Tensor& labels, std::int64_t batch) {
  auto start = std::chrono::steady_clock::now();
  std::int64_t correct = 0;
  const std::int64_t count = inputs.size(0);
  for (std::int64_t first = 0; first < count; first += batch) {
    std::int64_t end = std::min(first + batch, count);
    torch::Tensor logits = model.logits(inputs.slice(/*dim=*/0, first, end));
    correct +=
        logits.argmax(/*dim=*/1).eq(labels.slice(/*dim=*/0, first, end)).sum().item<std::int64_t>();
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {count / seconds, correct};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.pt DATA_DIR --threads N [--batch 256]\n", argv[0]);
    return 2;
  }
  try {
    fmnist::configure_runtime(option(argc, argv, "--threads", 0));
    fmnist::Checkpoint checkpoint = fmnist::load_checkpoint(argv[1], torch::kCPU);
    fmnist::Dataset data = fmnist::load_dataset(argv[2], fmnist::Split::kTest);
    fmnist::InferenceModel model(checkpoint.model);
    const std::int64_t batch = option(argc, argv, "--batch", 256);
    if (batch < 1) throw std::invalid_argument("--batch: must be 1 or more");
    torch::Tensor inputs = fmnist::to_model_input(data.images);
    Pass first = timed_pass(model, inputs, data.labels, batch);
    Pass steady = timed_pass(model, inputs, data.labels, batch);
    std::printf("fm_infer_first_pass_img_s=%.1f\n", first.images_per_second);
    std::printf("fm_infer_img_s=%.1f\n", steady.images_per_second);
    std::printf("fm_infer_test_acc=%.2f\n", 100.0 * steady.correct / data.size());
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_inference: %s\n", error.what());
    return 1;
  }
}
