#include "fmnist/base/device.hpp"

#include <ATen/Context.h>

#include <cstdint>
#include <string>

#include "fmnist/base/error.hpp"

namespace fmnist {

namespace {
torch::Device use_cuda() {
  // Our layer shapes never change, so cuDNN's one-off autotuning pays for itself.
  at::globalContext().setBenchmarkCuDNN(true);
  return torch::kCUDA;
}

std::string plural(std::int64_t count, const std::string& noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}
}  // namespace

torch::Device select_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "auto") return torch::cuda::is_available() ? use_cuda() : torch::kCPU;
  if (name == "cuda") {
    if (!torch::cuda::is_available()) {
      throw UsageError("--device cuda: no CUDA GPU is available to this build; use --device cpu");
    }
    return use_cuda();
  }
  throw UsageError("--device: '" + name + "' is not a device (auto, cpu or cuda)");
}

std::string describe_device(torch::Device device) {
  if (device.is_cuda()) {
    return "cuda (" + plural(torch::cuda::device_count(), "device") + ")";
  }
  return "cpu (" + plural(torch::get_num_threads(), "thread") + ")";
}

}  // namespace fmnist
