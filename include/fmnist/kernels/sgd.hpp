#pragma once

#include <torch/torch.h>

#include <vector>

#include "fmnist/kernels/optimizer_moments.hpp"

namespace fmnist {

// optimizer.step() of LibTorch's SGD (momentum, Nesterov, L2 weight decay, no dampening), with
// each CPU float parameter updated in one pass over its parameter, gradient and momentum
// buffer, as adam_step does for Adam. The values equal LibTorch's up to float rounding; other
// parameters, and dampening, take LibTorch's step.
void sgd_step(torch::optim::SGD& optimizer);

// The momentum buffer of every parameter of `optimizer`, in parameter order (zeros before the
// first step: the first step then sets it to the gradient, as LibTorch's does).
std::vector<OptimizerMoments> sgd_moments(const torch::optim::SGD& optimizer);

// Gives `optimizer` these momentum buffers (from sgd_moments, in parameter order), on each
// parameter's device and in its memory layout.
void set_sgd_moments(torch::optim::SGD& optimizer, const std::vector<OptimizerMoments>& moments);

}  // namespace fmnist
