#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>

namespace fmnist {

// The residual network's shape: a 5x5 stem convolution, then one ResidualBlock per stage, each
// halving the side (28 -> 14 -> 7 -> 4), then global average pooling and one linear layer.
// Chosen in the accurate recipe's probe (issue 12): 3 stages of one block reach 94 % in CPU
// minutes where deeper stages cost time the schedule needs.
struct ResNetLayout {
  static constexpr std::int64_t kStemChannels = 16;
  static constexpr std::int64_t kStemKernel = 5;
  static constexpr std::array<std::int64_t, 3> kStageChannels = {32, 64, 128};
};

// Two 3x3 convolutions with batch norm, the first with stride 2, ReLU after each; the shortcut
// halves the input by 2x2 average pooling (rounding up, so 7 -> 4) and maps its channels with a
// 1x1 convolution and batch norm, added before the second ReLU. Submodule names "conv1",
// "bn1", "conv2", "bn2", "shortcut", "shortcut_bn" are part of the checkpoint format.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(std::int64_t in_channels, std::int64_t out_channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  torch::nn::Conv2d conv2_{nullptr};
  torch::nn::BatchNorm2d bn2_{nullptr};
  torch::nn::Conv2d shortcut_{nullptr};
  torch::nn::BatchNorm2d shortcut_bn_{nullptr};
};
TORCH_MODULE(ResidualBlock);

}  // namespace fmnist
