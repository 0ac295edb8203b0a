#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fmnist {

enum class Split { kTrain, kTest };

// "train" or "test"; the IDX file prefixes are "train" and "t10k".
std::string split_name(Split split);
Split parse_split(const std::string& name);  // UsageError for anything else

// A whole split in memory, as contiguous tensors on one device.
struct Dataset {
  torch::Tensor images;  // uint8 [N, 1, rows, cols], as stored
  torch::Tensor labels;  // int64 [N]

  std::int64_t size() const { return labels.size(0); }
  Dataset to(torch::Device device) const;
};

// Where the IDX files are: `flag` if given, else $FMNIST_DATA, else ./data, else Debian's
// /usr/share/datasets/fashion-mnist. An explicit choice must hold the data; the defaults are
// tried in order. DataError (saying where it looked, and how to get the data) if none does.
std::filesystem::path resolve_data_dir(const std::optional<std::string>& flag);

// The images and labels files of a split in `dir`, raw (*-ubyte) or gzip (*-ubyte.gz).
std::filesystem::path find_split_file(const std::filesystem::path& dir, Split split, bool labels);

// Loads and cross-checks a split: 28x28 images, as many labels as images, labels in 0..9.
Dataset load_dataset(const std::filesystem::path& dir, Split split);

// Float inputs in [0, 1] for the given rows of `images` (uint8 [N, 1, H, W]).
torch::Tensor to_model_input(const torch::Tensor& images);

}  // namespace fmnist
