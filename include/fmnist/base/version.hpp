#pragma once

#include <string>

namespace fmnist {

// What `fmnist --version` prints: fmnist's version (with `git describe` when built from a
// checkout), the LibTorch it was built with, and whether CUDA is available to it.
std::string version_text();

}  // namespace fmnist
