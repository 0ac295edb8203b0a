#pragma once

#include <torch/torch.h>

#include "fmnist/model/model.hpp"

namespace fmnist {

// Inference-only forward passes (evaluation, prediction). On a CPU with oneDNN, the whole
// convolutional part runs in oneDNN's blocked layout with convolution weights reordered into it
// once, instead of reordering weights and activations in every call as forward() must: several
// times the throughput (BENCHMARKS.md). Elsewhere, and for layers it does not know, it calls
// the model's forward(). It reads the model's weights when built: build it after training or
// loading, and not before changing them.
class InferenceModel {
 public:
  // With `mirror_average` (test-time augmentation, --tta), logits() are the mean of the logits
  // of each image and of its left-right mirror.
  explicit InferenceModel(Net model, bool mirror_average = false);

  // Logits for float inputs [N, 1, 28, 28] in [0, 1], without autograd.
  torch::Tensor logits(const torch::Tensor& inputs);

  bool uses_onednn() const { return onednn_; }

 private:
  Net model_;
  torch::Tensor logits_of(const torch::Tensor& inputs);
  torch::Tensor onednn_logits(const torch::Tensor& inputs);

  bool mirror_average_ = false;
  bool onednn_ = false;
  torch::Tensor conv1_weight_, conv1_bias_, conv2_weight_, conv2_bias_;  // oneDNN layout
  torch::Tensor fc1_weight_, fc1_bias_, fc2_weight_, fc2_bias_;
};

}  // namespace fmnist
