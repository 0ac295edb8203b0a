#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace fmnist {

// What an optimizer keeps for one parameter: all that resuming a run needs besides the weights.
// Adam (and AdamW) keep a step count and two moments; SGD with momentum keeps its momentum
// buffer. The tensors an optimizer does not keep stay undefined.
struct OptimizerMoments {
  std::int64_t step = 0;
  torch::Tensor exp_avg;          // Adam's first moment
  torch::Tensor exp_avg_sq;       // Adam's second moment
  torch::Tensor momentum_buffer;  // SGD's
};

}  // namespace fmnist
