#pragma once

#include <torch/torch.h>

#include <vector>

#include "fmnist/kernels/optimizer_moments.hpp"

namespace fmnist {

// optimizer.step(), with each CPU float parameter updated in one pass over its parameter,
// gradient and two moment tensors. LibTorch's step runs about ten element-wise ops per
// parameter (two of them allocating); that was a tenth of a training step. The state stays
// in `optimizer` in LibTorch's own form, so saving, loading and resuming are unchanged; the
// values equal LibTorch's up to float rounding. Other parameters, and AMSGrad, take
// LibTorch's step. A `decoupled_weight_decay` above 0 makes it AdamW (PyTorch's): each weight
// that takes a step first shrinks by lr * decoupled_weight_decay.
void adam_step(torch::optim::Adam& optimizer, double decoupled_weight_decay = 0);

// The moments of every parameter of `optimizer`, in parameter order; a parameter that has not
// taken a step yet has step 0 and zero moments (what Adam's first step starts from).
std::vector<OptimizerMoments> adam_moments(const torch::optim::Adam& optimizer);

// Gives `optimizer` these moments (from adam_moments, in parameter order), on each parameter's
// device and in its memory layout. The sizes must match the parameters'.
void set_adam_moments(torch::optim::Adam& optimizer, const std::vector<OptimizerMoments>& moments);

}  // namespace fmnist
