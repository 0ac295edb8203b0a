#pragma once

#include <torch/torch.h>

namespace fmnist {

// relu(max_pool2d(x, 2)), with autograd. For CPU float tensors in channels-last order it runs
// one fused kernel each way that keeps a byte per output for the winning position; LibTorch's
// own pair (pooling with int64 indices, a zero-filled gradient, then ReLU's backward) was a
// third of a training step's time. Other tensors take LibTorch's ops; the values and gradients
// are the same either way.
torch::Tensor max_pool2x2_relu(const torch::Tensor& x);

}  // namespace fmnist
