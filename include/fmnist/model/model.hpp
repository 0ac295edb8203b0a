#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "fmnist/data/fashion_mnist.hpp"
#include "fmnist/model/residual_block.hpp"

namespace fmnist {

inline constexpr double kDropout = 0.2;
inline constexpr const char* kCnnArch = "cnn";
inline constexpr const char* kCnnBnArch = "cnn-bn";
inline constexpr const char* kResNetArch = "resnet";

// The architectures a model can be built as, kCnnArch first.
const std::vector<std::string>& supported_archs();

// "'a', 'b' and 'c'": names listed for a message.
std::string quoted_list(const std::vector<std::string>& names);

// Called after each step of the forward pass with the step's name (a submodule's name, or
// "pool1", "pool2", "flatten") and its output; for the model summary.
using LayerTrace = std::function<void(const std::string& step, const torch::Tensor& output)>;

// kCnnArch, the Keras tutorial's network: Conv(1->32, 3x3)+ReLU, MaxPool 2,
// Conv(32->64, 3x3)+ReLU, MaxPool 2, Flatten(1600), Dense 128+ReLU, Dropout 0.2, Dense 10.
// kCnnBnArch adds BatchNorm2d "bn1"/"bn2" after conv1/conv2 (before pool and ReLU) and
// BatchNorm1d "bn3" after fc1 (before its ReLU); Python exports rely on these names.
// kResNetArch is a small residual network with batch norm (ResNetLayout below), for the
// accurate recipe. Returns logits; the softmax lives in the loss and in predict. UsageError for
// another arch.
class NetImpl : public torch::nn::Module {
 public:
  explicit NetImpl(const std::string& arch = kCnnArch);
  // In training, `dropout_mask` (from dropout_mask()) replaces the Dropout layer's own draw;
  // `trace` sees every step's output.
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& dropout_mask = {},
                        const LayerTrace& trace = {});

  const std::string& arch() const { return arch_; }
  // Whether forward() takes dropout masks (the tutorial's networks).
  bool has_dropout() const { return !dropout_.is_empty(); }

 private:
  torch::Tensor forward_cnn(torch::Tensor x, const torch::Tensor& dropout_mask,
                            const LayerTrace& trace);
  torch::Tensor forward_resnet(torch::Tensor x, const LayerTrace& trace);

  std::string arch_;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  torch::nn::Conv2d conv2_{nullptr};
  torch::nn::BatchNorm2d bn2_{nullptr};
  torch::nn::Linear fc1_{nullptr};
  torch::nn::BatchNorm1d bn3_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear fc2_{nullptr};
  torch::nn::Sequential stem_{nullptr};
  std::vector<std::pair<std::string, ResidualBlock>> stages_;
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(Net);

// Inverted-dropout factors for `rows` inputs of the dropout layer: 0 with probability kDropout,
// else 1 / (1 - kDropout). Drawn on the CPU from `seed` alone, so that every rank of a
// data-parallel run draws the whole global batch's masks and takes its own rows of them.
torch::Tensor dropout_mask(std::int64_t rows, std::uint64_t seed);

std::int64_t count_parameters(const torch::nn::Module& module);

// Stores the convolution weights in channels-last (NHWC) order; values are unchanged. oneDNN's
// convolutions then produce NHWC activations, for which LibTorch's CPU max-pooling and its
// backward are vectorised: 1.5x the training throughput on the CPU (BENCHMARKS.md).
void use_channels_last(torch::nn::Module& module);

}  // namespace fmnist
