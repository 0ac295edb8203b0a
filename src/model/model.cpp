#include "fmnist/model/model.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "fmnist/base/error.hpp"
#include "fmnist/kernels/batch_norm_relu.hpp"
#include "fmnist/kernels/conv_pool_relu.hpp"
#include "fmnist/kernels/linear.hpp"
#include "fmnist/kernels/pool_relu.hpp"
#include "fmnist/kernels/relu.hpp"

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

std::string quoted_list(const std::vector<std::string>& names) {
  std::string list;
  for (std::size_t i = 0; i < names.size(); ++i) {
    list += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + ("'" + names[i] + "'");
  }
  return list;
}

const std::vector<std::string>& supported_archs() {
  static const std::vector<std::string> kArchs = {kCnnArch, kCnnBnArch, kResNetArch};
  return kArchs;
}

// Registered in forward order. The batch-norm modules draw no random numbers, so the default
// network's initial weights for a seed are the same with or without them in the code.
NetImpl::NetImpl(const std::string& arch) : arch_(arch) {
  const auto& archs = supported_archs();
  if (std::find(archs.begin(), archs.end(), arch) == archs.end()) {
    throw UsageError("--arch: '" + arch + "' is not an architecture (cnn, cnn-bn or resnet)");
  }
  if (arch == kResNetArch) {
    // PyTorch's default initialisation throughout, as in the recipe's Python probe.
    stem_ = register_module(
        "stem", torch::nn::Sequential(
                    torch::nn::Conv2d(torch::nn::Conv2dOptions(1, ResNetLayout::kStemChannels,
                                                               ResNetLayout::kStemKernel)
                                          .padding(ResNetLayout::kStemKernel / 2)
                                          .bias(false)),
                    torch::nn::BatchNorm2d(ResNetLayout::kStemChannels)));
    std::int64_t channels = ResNetLayout::kStemChannels;
    for (std::int64_t out : ResNetLayout::kStageChannels) {
      std::string name = "stage" + std::to_string(stages_.size() + 1);
      stages_.emplace_back(name, register_module(name, ResidualBlock(channels, out)));
      channels = out;
    }
    fc_ = register_module("fc", torch::nn::Linear(channels, kNumClasses));
    return;
  }
  const bool batch_norm = arch == kCnnBnArch;
  conv1_ = register_module(
      "conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, kConv1Channels, /*kernel_size=*/3)));
  if (batch_norm) bn1_ = register_module("bn1", torch::nn::BatchNorm2d(kConv1Channels));
  conv2_ = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(
                                        kConv1Channels, kConv2Channels, /*kernel_size=*/3)));
  if (batch_norm) bn2_ = register_module("bn2", torch::nn::BatchNorm2d(kConv2Channels));
  fc1_ = register_module("fc1", torch::nn::Linear(kFlatFeatures, kHidden));
  if (batch_norm) bn3_ = register_module("bn3", torch::nn::BatchNorm1d(kHidden));
  dropout_ = register_module("dropout", torch::nn::Dropout(kDropout));
  fc2_ = register_module("fc2", torch::nn::Linear(kHidden, kNumClasses));
  // Batch norm keeps PyTorch's initialisation (scale 1, shift 0).
  for (torch::nn::Module* layer : std::initializer_list<torch::nn::Module*>{
           conv1_.get(), conv2_.get(), fc1_.get(), fc2_.get()}) {
    keras_init(*layer);
  }
}

torch::Tensor NetImpl::forward(torch::Tensor x, const torch::Tensor& dropout_mask,
                               const LayerTrace& trace) {
  return stem_ ? forward_resnet(std::move(x), trace)
               : forward_cnn(std::move(x), dropout_mask, trace);
}

torch::Tensor NetImpl::forward_resnet(torch::Tensor x, const LayerTrace& trace) {
  auto step = [&](const std::string& name, torch::Tensor output) {
    if (trace) trace(name, output);
    return output;
  };
  x = step("stem", batch_norm_relu(stem_[0]->as<torch::nn::Conv2d>()->forward(x),
                                   *stem_[1]->as<torch::nn::BatchNorm2d>()));
  for (auto& [name, block] : stages_) x = step(name, block->forward(x));
  x = step("pool", x.mean(/*dim=*/{2, 3}));
  return step("fc", fc_(x));
}

torch::Tensor NetImpl::forward_cnn(torch::Tensor x, const torch::Tensor& dropout_mask,
                                   const LayerTrace& trace) {
  auto step = [&](const char* name, torch::Tensor output) {
    if (trace) trace(name, output);
    return output;
  };
  // Max-pooling before ReLU gives the same values and gradients (ReLU is monotone) and runs
  // the ReLU on a quarter of the elements; max_pool2x2_relu fuses the two, and
  // conv_max_pool2x2_relu the convolution too when nothing needs to see its output.
  auto conv_block = [&](torch::Tensor input, torch::nn::Conv2d& conv, torch::nn::BatchNorm2d& bn,
                        const std::string& layer) {
    if (!bn && !trace) return conv_max_pool2x2_relu(input, *conv);
    input = step(("conv" + layer).c_str(), conv(input));
    if (bn) input = step(("bn" + layer).c_str(), bn(input));
    return step(("pool" + layer).c_str(), max_pool2x2_relu(input));
  };
  x = conv_block(x, conv1_, bn1_, "1");
  x = conv_block(x, conv2_, bn2_, "2");
  if (trace) {
    x = step("flatten", x.flatten(/*start_dim=*/1));
    x = step("fc1", linear_layer(x, *fc1_));
  } else {
    x = flatten_linear_layer(x, *fc1_);
  }
  if (bn3_) x = step("bn3", bn3_(x));
  relu_in_place(x);
  // Dropout passes its input through in evaluation: not calling it saves a LibTorch op.
  if (is_training()) x = dropout_mask.defined() ? x * dropout_mask : dropout_(x);
  x = step("dropout", x);
  return step("fc2", linear_layer(x, *fc2_));
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

// Explicit NHWC strides: for conv1's single input channel, contiguous(ChannelsLast) keeps the
// NCHW strides (both orders are "contiguous" then), and oneDNN would produce NCHW activations.
void use_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& parameter : module.parameters()) {
    if (parameter.dim() != 4) continue;
    std::int64_t channels = parameter.size(1), width = parameter.size(3);
    std::vector<std::int64_t> nhwc_strides = {parameter.size(2) * width * channels, 1,
                                              width * channels, channels};
    // Already stored so (each evaluation during training asks again): no copy.
    if (parameter.strides() == torch::IntArrayRef(nhwc_strides)) continue;
    torch::Tensor nhwc = torch::empty_strided(parameter.sizes(), nhwc_strides, parameter.options());
    parameter.set_data(nhwc.copy_(parameter));
  }
}

}  // namespace fmnist
