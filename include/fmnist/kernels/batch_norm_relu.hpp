#pragma once

#include <torch/torch.h>

namespace fmnist {

// relu(bn(x)), with autograd; in training mode bn's running statistics and batch count are
// updated as BatchNorm2d's own forward does. For CPU float tensors in channels-last order in
// training mode it runs one fused kernel each way: statistics, normalisation and ReLU in two
// passes over x, and batch norm's backward in two passes with ReLU's mask recomputed from x.
// LibTorch's ops (batch norm forward and backward, ReLU forward and backward) made about a quarter
// of the residual network's training step. Other tensors, and evaluation mode, take LibTorch's ops;
// values and gradients agree within float rounding.
torch::Tensor batch_norm_relu(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn);

// relu(bn_a(a) + bn_b(b)), a residual block's end, in the same way: one fused kernel each way
// (two passes over a and b forward, two backward) where LibTorch runs two batch norms, an add
// and a ReLU, each a pass of its own. a and b have the same shape.
torch::Tensor batch_norm_add_relu(const torch::Tensor& a, torch::nn::BatchNorm2dImpl& bn_a,
                                  const torch::Tensor& b, torch::nn::BatchNorm2dImpl& bn_b);

}  // namespace fmnist
