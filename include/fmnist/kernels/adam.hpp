#pragma once

#include <torch/torch.h>

namespace fmnist {

// optimizer.step(), with each CPU float parameter updated in one pass over its parameter,
// gradient and two moment tensors. LibTorch's step runs about ten element-wise ops per
// parameter (two of them allocating); that was a tenth of a training step. The state stays
// in `optimizer` in LibTorch's own form, so saving, loading and resuming are unchanged; the
// values equal LibTorch's up to float rounding. Other parameters, and AMSGrad, take
// LibTorch's step.
void adam_step(torch::optim::Adam& optimizer);

}  // namespace fmnist
