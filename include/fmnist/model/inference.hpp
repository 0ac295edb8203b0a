#pragma once

#include <torch/torch.h>

#include "fmnist/model/model.hpp"

namespace fmnist {

// Inference-only forward passes (evaluation, prediction, serving): the model's own forward()
// without autograd, where its layers take their inference kernels (kernels/conv_pool_relu:
// no winner bytes, Winograd for the second convolution). On the CPU, a batch runs in slices,
// each thread taking its own through every layer. The model's convolution weights are stored
// channels-last once, when built: build it after training or loading.
class InferenceModel {
 public:
  // With `mirror_average` (test-time augmentation, --tta), logits() are the mean of the logits
  // of each image and of its left-right mirror.
  explicit InferenceModel(Net model, bool mirror_average = false);

  // Logits for float inputs [N, 1, 28, 28] in [0, 1], without autograd.
  torch::Tensor logits(const torch::Tensor& inputs);

 private:
  Net model_;
  torch::Tensor logits_of(const torch::Tensor& inputs);

  bool mirror_average_ = false;
  bool cpu_ = false;
};

}  // namespace fmnist
