#pragma once

#include <torch/torch.h>

namespace fmnist::detail {

// Input and output channel counts must be multiples of this (two of the vectors it computes in).
constexpr std::int64_t kWinogradChannels = 16;

// relu(max_pool2d(conv2d(x, weight, bias), 2)) for a 3x3 stride-1 unpadded convolution of a
// float CPU input stored channels-last, without autograd, by Winograd's F(2x2, 3x3): each
// pooling window is one 2x2 output tile, computed from a 4x4 input tile with 16 instead of 36
// multiplications per channel pair. Returns the output channels-last. For finite values it
// equals the direct convolution's up to float rounding (the sums run in another order). Its
// transforms subtract inputs from each other, so an infinite input gives NaN where the direct
// convolution gives an infinity: where the output holds a NaN, it returns an undefined tensor,
// and conv_max_pool2x2_relu takes LibTorch's path.
torch::Tensor winograd_conv_max_pool2x2_relu(const torch::Tensor& x, const torch::Tensor& weight,
                                             const torch::Tensor& bias);

}  // namespace fmnist::detail
