#include "fmnist/data/dataset.hpp"

#include <cstdlib>

#include "fmnist/base/error.hpp"
#include "fmnist/data/fashion_mnist.hpp"
#include "fmnist/data/idx.hpp"

namespace fmnist {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDebianDataDir = "/usr/share/datasets/fashion-mnist";
constexpr const char* kInstallHint =
    "install the data with `apt-get install dataset-fashion-mnist`, or name its directory "
    "with --data DIR or FMNIST_DATA=DIR";

std::string file_stem(Split split, bool labels) {
  std::string prefix = split == Split::kTrain ? "train" : "t10k";
  return prefix + (labels ? "-labels-idx1-ubyte" : "-images-idx3-ubyte");
}

std::optional<fs::path> existing_split_file(const fs::path& dir, Split split, bool labels) {
  for (const char* suffix : {"", ".gz"}) {
    fs::path candidate = dir / (file_stem(split, labels) + suffix);
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate;
  }
  return std::nullopt;
}

bool holds_data(const fs::path& dir) {
  return existing_split_file(dir, Split::kTrain, /*labels=*/false).has_value() ||
         existing_split_file(dir, Split::kTest, /*labels=*/false).has_value();
}

void check_labels(const torch::Tensor& labels, const fs::path& file) {
  auto bad = (labels >= kNumClasses).nonzero();
  if (bad.numel() > 0) {
    std::int64_t index = bad[0].item<std::int64_t>();
    throw DataError(file.string() + ": label " + std::to_string(labels[index].item<int>()) +
                    " at index " + std::to_string(index) + " is outside 0.." +
                    std::to_string(kNumClasses - 1));
  }
}

}  // namespace

std::string split_name(Split split) { return split == Split::kTrain ? "train" : "test"; }

Split parse_split(const std::string& name) {
  if (name == "train") return Split::kTrain;
  if (name == "test") return Split::kTest;
  throw UsageError("--split: '" + name + "' is not a split (train or test)");
}

Dataset Dataset::to(torch::Device device) const { return {images.to(device), labels.to(device)}; }

fs::path resolve_data_dir(const std::optional<std::string>& flag) {
  auto explicit_dir = [](const fs::path& dir, const std::string& source) {
    std::error_code ec;
    const fs::file_status status = fs::status(dir, ec);
    if (status.type() == fs::file_type::not_found) {
      throw DataError(source + dir.string() + ": no such directory");
    }
    if (ec) throw DataError(source + dir.string() + ": cannot open: " + ec.message());
    if (!fs::is_directory(status)) throw DataError(source + dir.string() + ": is not a directory");
    if (fs::directory_iterator(dir, ec); ec) {
      throw DataError(source + dir.string() + ": cannot list the directory: " + ec.message());
    }
    if (!holds_data(dir)) {
      throw DataError(source + dir.string() +
                      ": holds no Fashion-MNIST IDX files (train-images-idx3-ubyte[.gz] or "
                      "t10k-images-idx3-ubyte[.gz])");
    }
    return dir;
  };
  if (flag) return explicit_dir(*flag, "--data ");
  if (const char* env = std::getenv("FMNIST_DATA"); env && *env) {
    return explicit_dir(env, "FMNIST_DATA=");
  }
  for (const char* dir : {"data", kDebianDataDir}) {
    if (holds_data(dir)) return dir;
  }
  throw DataError(std::string("no Fashion-MNIST data found in ./data or ") + kDebianDataDir + "; " +
                  kInstallHint);
}

fs::path find_split_file(const fs::path& dir, Split split, bool labels) {
  if (auto file = existing_split_file(dir, split, labels)) return *file;
  throw DataError((dir / file_stem(split, labels)).string() + "[.gz]: not found; " + kInstallHint);
}

Dataset load_dataset(const fs::path& dir, Split split) {
  fs::path images_file = find_split_file(dir, split, /*labels=*/false);
  fs::path labels_file = find_split_file(dir, split, /*labels=*/true);
  torch::Tensor images = read_idx_images(images_file);
  torch::Tensor labels = read_idx_labels(labels_file);
  if (images.size(1) != kImageSize || images.size(2) != kImageSize) {
    throw DataError(images_file.string() + ": images are " + std::to_string(images.size(1)) + "x" +
                    std::to_string(images.size(2)) + ", the model needs " +
                    std::to_string(kImageSize) + "x" + std::to_string(kImageSize));
  }
  if (labels.size(0) != images.size(0)) {
    throw DataError(labels_file.string() + ": " + std::to_string(labels.size(0)) + " labels but " +
                    std::to_string(images.size(0)) + " images in " +
                    images_file.filename().string());
  }
  check_labels(labels, labels_file);
  return {images.unsqueeze(1), labels.to(torch::kInt64)};
}

torch::Tensor to_model_input(const torch::Tensor& images) {
  return images.to(torch::kFloat32).mul_(kPixelScale);
}

}  // namespace fmnist
