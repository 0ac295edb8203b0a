#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "fmnist/model/checkpoint.hpp"

namespace fmnist {

inline constexpr double kSgdMomentum = 0.9;

// The optimizer that the checkpoint's settings name, over its model's parameters, holding the
// checkpoint's moments when it has them (a resumed run):
// - adam: Adam with Keras' epsilon (1e-7); weight decay as an L2 term of the gradients;
// - adamw: the same with decoupled weight decay (PyTorch's AdamW);
// - sgd: SGD with Nesterov momentum 0.9; weight decay as an L2 term of the gradients.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const Checkpoint& checkpoint);

// One step of an optimizer from make_optimizer, in fmnist's one-pass kernels.
void optimizer_step(torch::optim::Optimizer& optimizer, const TrainSettings& settings);

// What the optimizer keeps for each parameter, for a checkpoint that resumes exactly.
std::vector<OptimizerMoments> optimizer_moments(const torch::optim::Optimizer& optimizer);

}  // namespace fmnist
