#pragma once

#include <torch/torch.h>

namespace fmnist {

// x.relu_(). A contiguous float CPU tensor without grad mode (evaluation, inference) takes one
// loop: on a served image's 128 hidden units, relu_ took 2.6 µs (LibTorch's TensorIterator
// set-up), the loop 0.3 µs. NaN stays NaN, as with relu_.
torch::Tensor& relu_in_place(torch::Tensor& x);

}  // namespace fmnist
