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

}  // namespace fmnist
