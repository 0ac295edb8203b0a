#include "fmnist/model/inference.hpp"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <set>
#include <string>

namespace fmnist {
namespace {

const std::set<std::string> kPlainCnnParameters = {"conv1.weight", "conv1.bias", "conv2.weight",
                                                   "conv2.bias",   "fc1.weight", "fc1.bias",
                                                   "fc2.weight",   "fc2.bias"};

// The fast path hard-codes the default network's layers; anything else (other layers, another
// device, a LibTorch without oneDNN) takes forward().
bool can_use_onednn(Net& model) {
  if (!at::hasMKLDNN()) return false;
  std::set<std::string> names;
  for (const auto& item : model->named_parameters()) {
    if (!item.value().device().is_cpu() || item.value().scalar_type() != torch::kFloat) {
      return false;
    }
    names.insert(item.key());
  }
  return names == kPlainCnnParameters && model->named_buffers().is_empty();
}

torch::Tensor reorder_conv_weight(const torch::Tensor& weight) {
  return at::mkldnn_reorder_conv2d_weight(weight.contiguous().to_mkldnn(), /*padding=*/{0, 0},
                                          /*stride=*/{1, 1}, /*dilation=*/{1, 1}, /*groups=*/1);
}

// A batch runs in slices of about this many images, each through every layer on one thread: a
// slice's activations stay in the core's caches between layers (the first convolution's output
// is 2.8 MB here against 22 MB for 256 images), and the threads meet once a batch instead of at
// every layer, where oneDNN's small convolutions and pooling scale poorly. Measured on 2 cores
// at batch 256: 27,000 img/s with each layer split across the threads, 48,000 with half a batch
// per thread, 51,000 with 4 slices of 32 per thread; 24 or 40 images a slice, which leave one
// thread a slice more than the other, 39,000-45,000.
constexpr std::int64_t kSliceImages = 32;

// As many slices for every thread, as even as they divide.
std::vector<torch::Tensor> thread_slices(const torch::Tensor& inputs) {
  const std::int64_t images = inputs.size(0);
  const std::int64_t threads = at::in_parallel_region() ? 1 : at::get_num_threads();
  const std::int64_t per_thread = (images + threads * kSliceImages - 1) / (threads * kSliceImages);
  return inputs.tensor_split(std::max<std::int64_t>(1, std::min(images, threads * per_thread)));
}

torch::Tensor conv(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  return at::mkldnn_convolution(x, weight, bias, /*padding=*/{0, 0}, /*stride=*/{1, 1},
                                /*dilation=*/{1, 1}, /*groups=*/1);
}

}  // namespace

InferenceModel::InferenceModel(Net model, bool mirror_average)
    : model_(std::move(model)), mirror_average_(mirror_average) {
  model_->eval();
  onednn_ = can_use_onednn(model_);
  if (!onednn_) {
    if (model_->parameters().front().device().is_cpu()) use_channels_last(*model_);
    return;
  }
  torch::InferenceMode inference;
  auto params = model_->named_parameters();
  conv1_weight_ = reorder_conv_weight(params["conv1.weight"]);
  conv1_bias_ = params["conv1.bias"].contiguous().to_mkldnn();
  conv2_weight_ = reorder_conv_weight(params["conv2.weight"]);
  conv2_bias_ = params["conv2.bias"].contiguous().to_mkldnn();
  fc1_weight_ = params["fc1.weight"];
  fc1_bias_ = params["fc1.bias"];
  fc2_weight_ = params["fc2.weight"];
  fc2_bias_ = params["fc2.bias"];
}

torch::Tensor InferenceModel::logits(const torch::Tensor& inputs) {
  if (!mirror_average_) return logits_of(inputs);
  return (logits_of(inputs) + logits_of(inputs.flip({3}))) / 2;
}

torch::Tensor InferenceModel::logits_of(const torch::Tensor& inputs) {
  torch::InferenceMode inference;
  if (!onednn_) return model_->forward(inputs);
  std::vector<torch::Tensor> slices = thread_slices(inputs);
  if (slices.size() <= 1) return onednn_logits(inputs);
  std::vector<torch::Tensor> logits(slices.size());
  at::parallel_for(/*begin=*/0, static_cast<std::int64_t>(slices.size()), /*grain_size=*/1,
                   [&](std::int64_t begin, std::int64_t end) {
                     torch::InferenceMode thread_inference;  // the mode is per thread
                     for (std::int64_t i = begin; i < end; ++i)
                       logits[i] = onednn_logits(slices[i]);
                   });
  return torch::cat(logits);
}

torch::Tensor InferenceModel::onednn_logits(const torch::Tensor& inputs) {
  // The same layers as NetImpl::forward (pooling before ReLU), dropout being off in inference.
  torch::Tensor x = inputs.contiguous().to_mkldnn();
  x = torch::max_pool2d(conv(x, conv1_weight_, conv1_bias_), /*kernel_size=*/2).relu_();
  x = torch::max_pool2d(conv(x, conv2_weight_, conv2_bias_), /*kernel_size=*/2).relu_();
  x = torch::linear(x.to_dense().flatten(/*start_dim=*/1), fc1_weight_, fc1_bias_).relu_();
  return torch::linear(x, fc2_weight_, fc2_bias_);
}

}  // namespace fmnist
