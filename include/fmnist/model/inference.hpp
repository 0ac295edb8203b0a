#pragma once

#include <torch/torch.h>

#include <memory>

#include "fmnist/kernels/prepared_weights.hpp"
#include "fmnist/model/model.hpp"

namespace fmnist {

// Inference-only forward passes (evaluation, prediction, serving): the model's own forward()
// without autograd, where its layers take their inference kernels (kernels/conv_pool_relu:
// no winner bytes, Winograd for the second convolution). On the CPU, a batch runs in slices,
// each thread taking its own through every layer. The model's convolution weights are stored
// channels-last once, when built, and the kernels keep the forms they make of them: build it
// after training or loading, and change the weights only through a new one.
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
  std::shared_ptr<PreparedWeights> prepared_weights_ = std::make_shared<PreparedWeights>();
};

}  // namespace fmnist
