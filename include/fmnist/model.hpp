#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace fmnist {

inline constexpr std::int64_t kImageSize = 28;
inline constexpr std::int64_t kNumClasses = 10;
inline constexpr double kPixelScale = 1.0 / 255.0;  // uint8 pixels to [0, 1]
inline constexpr double kDropout = 0.2;
inline constexpr const char* kCnnArch = "cnn";

// Fashion-MNIST's classes, by label.
const std::vector<std::string>& fashion_class_names();

// The Keras tutorial's network: Conv(1->32, 3x3)+ReLU, MaxPool 2, Conv(32->64, 3x3)+ReLU,
// MaxPool 2, Flatten(1600), Dense 128+ReLU, Dropout 0.2, Dense 10. Returns logits; the
// softmax lives in the loss and in predict.
class CnnImpl : public torch::nn::Module {
 public:
  CnnImpl();
  // In training, `dropout_mask` (from dropout_mask()) replaces the Dropout layer's own draw.
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& dropout_mask = {});

 private:
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::Conv2d conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear fc2_{nullptr};
};
TORCH_MODULE(Cnn);

// Inverted-dropout factors for `rows` inputs of the dropout layer: 0 with probability kDropout,
// else 1 / (1 - kDropout). Drawn on the CPU from `seed` alone, so that every rank of a
// data-parallel run draws the whole global batch's masks and takes its own rows of them.
torch::Tensor dropout_mask(std::int64_t rows, std::uint64_t seed);

std::int64_t count_parameters(const torch::nn::Module& module);

}  // namespace fmnist
