#pragma once

#include <torch/torch.h>

#include <string>

namespace fmnist {

// "auto" (CUDA when available, else CPU), "cpu" or "cuda"; UsageError for anything else or for
// "cuda" on a machine without a usable GPU.
torch::Device select_device(const std::string& name);

// "cpu (2 threads)" or "cuda (1 device)", for the start-up log.
std::string describe_device(torch::Device device);

}  // namespace fmnist
