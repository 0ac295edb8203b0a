#include "fmnist/model/inference.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace fmnist {
namespace {

// A batch runs in slices of about this many images, each through every layer on one thread: a
// slice's activations stay in the core's caches between layers (the first convolution's output
// is 2.8 MB here against 22 MB for 256 images), and the threads meet once a batch instead of at
// every layer, where small convolutions and pooling scale poorly. Measured on 2 cores (AVX-512,
// session 13's oneDNN layers) at batch 256: 27,000 img/s with each layer split across the threads,
// 48,000 with half a batch per thread, 51,000 with 4 slices of 32 per thread; 24 or 40 images a
// slice, which leave one thread a slice more than the other, 39,000-45,000.
constexpr std::int64_t kSliceImages = 32;

// As many slices for every thread, as even as they divide.
std::int64_t slice_count(std::int64_t images) {
  const std::int64_t threads = at::in_parallel_region() ? 1 : at::get_num_threads();
  const std::int64_t per_thread = (images + threads * kSliceImages - 1) / (threads * kSliceImages);
  return std::max<std::int64_t>(1, std::min(images, threads * per_thread));
}

}  // namespace

InferenceModel::InferenceModel(Net model, bool mirror_average)
    : model_(std::move(model)), mirror_average_(mirror_average) {
  model_->eval();
  cpu_ = model_->parameters().front().device().is_cpu();
  if (cpu_) use_channels_last(*model_);
}

torch::Tensor InferenceModel::logits(const torch::Tensor& inputs) {
  if (!mirror_average_) return logits_of(inputs);
  return (logits_of(inputs) + logits_of(inputs.flip({3}))) / 2;
}

torch::Tensor InferenceModel::logits_of(const torch::Tensor& inputs) {
  torch::InferenceMode inference;
  FrozenWeightsScope frozen(*prepared_weights_);
  const std::int64_t count = cpu_ ? slice_count(inputs.size(0)) : 1;
  if (count == 1) return model_->forward(inputs);
  std::vector<torch::Tensor> slices = inputs.tensor_split(count);
  std::vector<torch::Tensor> logits(slices.size());
  at::parallel_for(/*begin=*/0, static_cast<std::int64_t>(slices.size()), /*grain_size=*/1,
                   [&](std::int64_t begin, std::int64_t end) {
                     torch::InferenceMode thread_inference;  // the mode is per thread
                     FrozenWeightsScope thread_frozen(*prepared_weights_);
                     for (std::int64_t i = begin; i < end; ++i)
                       logits[i] = model_->forward(slices[i]);
                   });
  return torch::cat(logits);
}

}  // namespace fmnist
