#pragma once

// Checkpoint format 1 (fmnist 0.1): a TorchScript archive written by torch::serialize. LibTorch
// compiles the archive's code/ files while reading it, so such a file is read only after a
// strict check that it holds exactly what fmnist 0.1 wrote: the entries it writes, and code
// files that only declare attributes (no def, no method of any kind). Private to model/.

#include <map>
#include <string>

#include "archive.hpp"
#include "fmnist/model/checkpoint.hpp"

namespace fmnist::detail {

// The most bytes one tensor of any architecture's weights or optimizer state takes.
std::uint64_t max_checkpoint_tensor_bytes();

// Whether `entries` (by name below the archive's top folder) are a TorchScript archive's.
bool is_torchscript_archive(const std::map<std::string, ArchiveEntry>& entries);

// Checks the archive as above (CheckpointError naming `name` and what is wrong), then reads it.
Checkpoint read_torchscript_checkpoint(const std::string& bytes,
                                       const std::map<std::string, ArchiveEntry>& entries,
                                       const std::string& name, torch::Device device);

}  // namespace fmnist::detail
