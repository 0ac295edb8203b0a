#include "fmnist/kernels/relu.hpp"

#include <cstdint>

#include "pool_window.hpp"

namespace fmnist {

torch::Tensor& relu_in_place(torch::Tensor& x) {
  if (torch::GradMode::is_enabled() || !detail::is_cpu_float(x) || !x.is_contiguous()) {
    return x.relu_();
  }
  // As relu_: a later backward through a graph that saved x finds it changed and says so, and
  // an inference tensor outside InferenceMode is refused.
  x.unsafeGetTensorImpl()->bump_version();
  float* data = x.data_ptr<float>();
  for (std::int64_t i = 0, count = x.numel(); i < count; ++i) data[i] = data[i] < 0 ? 0 : data[i];
  return x;
}

}  // namespace fmnist
