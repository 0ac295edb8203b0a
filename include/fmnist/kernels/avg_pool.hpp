#pragma once

#include <torch/torch.h>

namespace fmnist {

// avg_pool2d(x, 2, stride 2, ceil_mode) with autograd: the output side is rounded up, and a
// window cut off at an odd edge averages the pixels it covers. For CPU float tensors in
// channels-last order it runs a kernel of its own each way (LibTorch's backward took three
// times the forward's time, the residual network's shortcuts 4 % of a training step); other
// tensors take LibTorch's op. Values and gradients are the same either way, bit for bit.
torch::Tensor avg_pool2x2_ceil(const torch::Tensor& x);

}  // namespace fmnist
