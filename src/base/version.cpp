#include "fmnist/base/version.hpp"

#include <torch/cuda.h>
#include <torch/version.h>

#include "fmnist_git_describe.hpp"  // generated at build time (cmake/GitDescribe.cmake)

namespace fmnist {

std::string version_text() {
  std::string text = std::string("fmnist ") + FMNIST_VERSION;
  if (*kGitDescribe != '\0') text += std::string(" (git ") + kGitDescribe + ")";
  text += std::string("\nLibTorch ") + TORCH_VERSION + ", CUDA ";
  const std::size_t gpus = torch::cuda::device_count();
  text += gpus > 0 ? "available (" + std::to_string(gpus) + (gpus == 1 ? " GPU)" : " GPUs)")
                   : std::string("not available");
  return text;
}

}  // namespace fmnist
