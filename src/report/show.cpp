#include "fmnist/report/show.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <spdlog/spdlog.h>

#include "fmnist/base/error.hpp"
#include "fmnist/base/file_util.hpp"
#include "fmnist/data/dataset.hpp"
#include "fmnist/data/fashion_mnist.hpp"
#include "fmnist/report/plot.hpp"

namespace fmnist {
namespace {

constexpr int kMaxColumns = 10;

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::int64_t parse_class_name(const std::string& name) {
  const std::vector<std::string>& names = fashion_class_names();
  std::string listed;
  for (std::size_t c = 0; c < names.size(); ++c) {
    if (lowercase(names[c]) == lowercase(name)) return static_cast<std::int64_t>(c);
    listed += (c ? ", " : "") + names[c];
  }
  throw UsageError("--class: '" + name + "' is not a class (" + listed + ")");
}

std::vector<std::int64_t> to_vector(const torch::Tensor& indices) {
  torch::Tensor flat = indices.to(torch::kCPU, torch::kInt64).contiguous();
  return {flat.data_ptr<std::int64_t>(), flat.data_ptr<std::int64_t>() + flat.numel()};
}

std::string show_title(const ShowOptions& options, const std::vector<std::int64_t>& chosen) {
  std::string what =
      options.class_name ? "class " + fashion_class_names()[parse_class_name(*options.class_name)]
      : chosen.size() == 1
          ? "image " + std::to_string(chosen.front())
          : "images " + std::to_string(chosen.front()) + "-" + std::to_string(chosen.back());
  return "Fashion-MNIST " + options.split + " split, " + what;
}

// show draws PNG only: a picture.jpg holding PNG bytes would confuse whatever opens it.
void check_out_name(const std::string& out) {
  check_not_a_directory(out, "--out", "show.png");
  std::string extension = lowercase(std::filesystem::path(out).extension().string());
  if (extension != ".png") {
    throw UsageError("--out " + out + ": show writes PNG images; give a name ending in .png");
  }
}

// Fewer images than asked for, without a word, looks like a bug.
void warn_if_fewer(const ShowOptions& options, const std::vector<std::int64_t>& chosen) {
  if (static_cast<std::int64_t>(chosen.size()) >= options.count) return;
  if (options.class_name) {
    spdlog::warn("the {} split holds only {} images of class {}: showing them, not {}",
                 options.split, chosen.size(),
                 fashion_class_names()[parse_class_name(*options.class_name)], options.count);
  } else {
    spdlog::warn("the {} split ends at image {}: showing {} images, not {}", options.split,
                 chosen.back(), chosen.size(), options.count);
  }
}

}  // namespace

std::vector<std::int64_t> select_show_images(const torch::Tensor& labels,
                                             const ShowOptions& options) {
  if (options.index && options.class_name) {
    throw UsageError("--index and --class: give one of them, not both");
  }
  if (options.count < 1 || options.count > kMaxShowCount) {
    throw UsageError("--count: must be 1.." + std::to_string(kMaxShowCount) + ", not " +
                     std::to_string(options.count));
  }
  std::int64_t size = labels.size(0);
  if (options.class_name) {
    std::int64_t label = parse_class_name(*options.class_name);
    torch::Tensor matches = (labels == label).nonzero().flatten().slice(0, 0, options.count);
    if (matches.numel() == 0) {
      throw DataError("the " + options.split + " split holds no images of class " +
                      fashion_class_names()[label]);
    }
    return to_vector(matches);
  }
  std::int64_t first = options.index.value_or(0);
  if (first < 0 || first >= size) {
    throw UsageError("--index " + std::to_string(first) + ": the " + options.split +
                     " split has images 0.." + std::to_string(size - 1));
  }
  return to_vector(torch::arange(first, std::min(first + options.count, size)));
}

void run_show(const ShowOptions& options, std::ostream& out) {
  check_out_name(options.out);
  Split split = parse_split(options.split);
  make_output_directory(std::filesystem::path(options.out).parent_path(), "--out " + options.out);
  Dataset data = load_dataset(resolve_data_dir(options.data_dir), split);
  std::vector<std::int64_t> chosen = select_show_images(data.labels, options);
  warn_if_fewer(options, chosen);
  const std::vector<std::string>& names = fashion_class_names();
  std::vector<Tile> tiles;
  for (std::int64_t i : chosen) {
    tiles.push_back({data.images[i][0],
                     "#" + std::to_string(i) + "\n" + names[data.labels[i].item<std::int64_t>()]});
  }
  // Near-square grids, at most kMaxColumns wide.
  int columns = std::min<int>(
      kMaxColumns, static_cast<int>(std::ceil(std::sqrt(static_cast<double>(chosen.size())))));
  write_file_atomically(options.out, image_grid_png(tiles, show_title(options, chosen), columns));
  out << options.out << "\n";
}

}  // namespace fmnist
