#pragma once

#include <torch/torch.h>

namespace fmnist {

// relu(max_pool2d(conv(x), 2)), with autograd.
//
// For the network's first layer on the CPU (float, one input channel, a 3x3 stride-1 unpadded
// convolution with bias, an input that needs no gradient) it runs one fused kernel each way:
// the convolution's full-size output (26x26x32 per image, the largest activation in the
// network) is never stored, only the pooled output and a winner byte per pooled output.
// LibTorch's convolution, pooling and their backward passes spent a third of a training step
// writing and re-reading it. Where nothing will ask for a gradient (evaluation, inference), it
// skips the winner bytes, and a convolution of several channels (multiples of 16, such as the
// second layer) runs Winograd's F(2x2, 3x3), one output tile per pooling window: 2.7 times
// fewer multiplications than LibTorch's direct convolution. Other inputs take conv, then
// max_pool2x2_relu; the values and gradients are the same either way, up to the order of
// float additions.
torch::Tensor conv_max_pool2x2_relu(const torch::Tensor& x, torch::nn::Conv2dImpl& conv);

}  // namespace fmnist
