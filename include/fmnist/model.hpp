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
  torch::Tensor forward(torch::Tensor x);

 private:
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::Conv2d conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear fc2_{nullptr};
};
TORCH_MODULE(Cnn);

std::int64_t count_parameters(const torch::nn::Module& module);

// Stores the convolution weights in channels-last (NHWC) order; values are unchanged. oneDNN's
// convolutions then produce NHWC activations, for which LibTorch's CPU max-pooling and its
// backward are vectorised: 1.5x the training throughput on the CPU (BENCHMARKS.md).
void use_channels_last(torch::nn::Module& module);

}  // namespace fmnist
