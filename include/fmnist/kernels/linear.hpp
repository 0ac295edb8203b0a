#pragma once

#include <torch/torch.h>

namespace fmnist {

// layer->forward(x). A single CPU row that needs no gradient (one image in predict or serve)
// takes a matrix-vector product: LibTorch's linear runs it as a one-row matrix product, which
// took 75 µs for fc1 (1600 x 128) against 15 µs. Float rows take fmnist's own kernel, without
// the LibTorch ops around a BLAS call; the sums run in another order than BLAS's.
torch::Tensor linear_layer(const torch::Tensor& x, torch::nn::LinearImpl& layer);

// linear_layer(x.flatten(1), layer) for x [N, C, H, W]. Stored channels-last, without a
// gradient and in a FrozenWeightsScope, x is read as it lies, with the layer's weight columns
// kept in channels-last order: flatten's copy into channels-first order took 5-9 µs of a
// one-image forward pass.
torch::Tensor flatten_linear_layer(const torch::Tensor& x, torch::nn::LinearImpl& layer);

}  // namespace fmnist
