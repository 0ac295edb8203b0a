#include "fmnist/model/residual_block.hpp"

#include "fmnist/kernels/avg_pool.hpp"
#include "fmnist/kernels/batch_norm_relu.hpp"

namespace fmnist {
namespace {

torch::nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t kernel,
                       std::int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                               .stride(stride)
                               .padding(kernel / 2)
                               .bias(false));  // batch norm follows
}

}  // namespace

ResidualBlockImpl::ResidualBlockImpl(std::int64_t in_channels, std::int64_t out_channels)
    : conv1_(register_module("conv1", conv(in_channels, out_channels, /*kernel=*/3, /*stride=*/2))),
      bn1_(register_module("bn1", torch::nn::BatchNorm2d(out_channels))),
      conv2_(
          register_module("conv2", conv(out_channels, out_channels, /*kernel=*/3, /*stride=*/1))),
      bn2_(register_module("bn2", torch::nn::BatchNorm2d(out_channels))),
      shortcut_(
          register_module("shortcut", conv(in_channels, out_channels, /*kernel=*/1, /*stride=*/1))),
      shortcut_bn_(register_module("shortcut_bn", torch::nn::BatchNorm2d(out_channels))) {}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor main = conv2_(batch_norm_relu(conv1_(x), *bn1_));
  torch::Tensor shortcut = shortcut_(avg_pool2x2_ceil(x));
  return batch_norm_add_relu(main, *bn2_, shortcut, *shortcut_bn_);
}

}  // namespace fmnist
