#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace fmnist {

inline constexpr std::int64_t kMaxShowCount = 400;

struct ShowOptions {
  std::optional<std::string> data_dir;
  std::string split = "test";
  std::optional<std::int64_t> index;      // show images index, index + 1, ...
  std::optional<std::string> class_name;  // or the first images of this class
  std::int64_t count = 16;
  std::string out = "show.png";
};

// The images `fmnist show` draws from a split with these `labels` (int64 [N]): `count` of them
// from `index` on, or the first `count` of `class_name`, or the first `count`. UsageError for an
// index outside the split, an unknown class name, or both an index and a class.
std::vector<std::int64_t> select_show_images(const torch::Tensor& labels,
                                             const ShowOptions& options);

// `fmnist show`: draws the chosen images with their labels as a PNG grid at options.out and
// writes its path to `out`.
void run_show(const ShowOptions& options, std::ostream& out);

}  // namespace fmnist
