#include "fmnist/model.hpp"

#include <ATen/CPUGeneratorImpl.h>

namespace fmnist {
namespace {

constexpr std::int64_t kConv1Channels = 32;
constexpr std::int64_t kConv2Channels = 64;
constexpr std::int64_t kHidden = 128;
// 28 -conv3-> 26 -pool2-> 13 -conv3-> 11 -pool2-> 5
constexpr std::int64_t kFeatureSide = ((kImageSize - 2) / 2 - 2) / 2;
constexpr std::int64_t kFlatFeatures = kConv2Channels * kFeatureSide * kFeatureSide;
static_assert(kFlatFeatures == 1600, "the tutorial's Flatten layer has 1600 features");

// Keras' defaults (Glorot-uniform kernels, zero biases), so training matches the tutorial.
void keras_init(torch::nn::Module& module) {
  for (auto& item : module.named_parameters(/*recurse=*/false)) {
    if (item.key() == "weight") {
      torch::nn::init::xavier_uniform_(item.value());
    } else {
      torch::nn::init::zeros_(item.value());
    }
  }
}

}  // namespace

const std::vector<std::string>& fashion_class_names() {
  static const std::vector<std::string> kNames = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                  "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                  "Bag",         "Ankle boot"};
  return kNames;
}

CnnImpl::CnnImpl()
    : conv1_(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(
                                          1, kConv1Channels, /*kernel_size=*/3)))),
      conv2_(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(
                                          kConv1Channels, kConv2Channels, /*kernel_size=*/3)))),
      fc1_(register_module("fc1", torch::nn::Linear(kFlatFeatures, kHidden))),
      dropout_(register_module("dropout", torch::nn::Dropout(kDropout))),
      fc2_(register_module("fc2", torch::nn::Linear(kHidden, kNumClasses))) {
  for (auto& child : modules(/*include_self=*/false)) keras_init(*child);
}

torch::Tensor CnnImpl::forward(torch::Tensor x, const torch::Tensor& dropout_mask) {
  // Max-pooling before ReLU gives the same values and gradients (ReLU is monotone) and runs
  // the ReLU on a quarter of the elements.
  x = torch::max_pool2d(conv1_(x), /*kernel_size=*/2).relu_();
  x = torch::max_pool2d(conv2_(x), /*kernel_size=*/2).relu_();
  x = fc1_(x.flatten(/*start_dim=*/1)).relu_();
  return fc2_(is_training() && dropout_mask.defined() ? x * dropout_mask : dropout_(x));
}

torch::Tensor dropout_mask(std::int64_t rows, std::uint64_t seed) {
  torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::empty({rows, kHidden}).bernoulli_(1 - kDropout, generator) / (1 - kDropout);
}

std::int64_t count_parameters(const torch::nn::Module& module) {
  std::int64_t total = 0;
  for (const auto& parameter : module.parameters()) total += parameter.numel();
  return total;
}

}  // namespace fmnist
