#pragma once

// fmnist's API for C++ programs (installed with fmnist; find_package(fmnist), target
// fmnist::fmnist): load a checkpoint that `fmnist train` wrote and classify images with it,
// through the same preprocessing and model code as `fmnist predict`. It needs no LibTorch
// headers. Errors are thrown as fmnist::Error (fmnist/base/error.hpp) and its kinds:
// CheckpointError for a checkpoint that cannot be used, ImageError for an image that cannot be
// decoded or shows no item, UsageError for an argument out of range; Error itself for a file
// that cannot be read.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fmnist/base/error.hpp"
#include "fmnist/predict/class_score.hpp"

namespace fmnist {

struct ClassifierOptions {
  std::string device = "auto";  // "auto" (a CUDA GPU when there is one), "cpu" or "cuda"
  int threads = 0;              // CPU threads; 0: one per core
  bool tta = false;             // average each image's logits with its mirror's (predict --tta)
};

class Classifier {
 public:
  explicit Classifier(const std::filesystem::path& checkpoint,
                      const ClassifierOptions& options = ClassifierOptions());
  ~Classifier();
  Classifier(Classifier&&) noexcept;
  Classifier& operator=(Classifier&&) noexcept;

  // The `top_k` (1 to 10) most probable classes of an image, best first; what `fmnist predict
  // --top-k` prints for it. class_names()[score.label] names a class.
  std::vector<ClassScore> classify_file(const std::filesystem::path& image, int top_k = 1);
  // An encoded image in memory (PNG, JPEG, GIF, BMP, PGM/PPM); `name` is used in errors.
  std::vector<ClassScore> classify_encoded(std::string_view bytes, int top_k = 1,
                                           const std::string& name = "image");
  // 8-bit grayscale pixels, row by row (width * height bytes), preprocessed as a decoded file
  // is: a dark item on a light background is inverted, and anything but 28x28 is cropped to
  // the item and scaled (README, predict).
  std::vector<ClassScore> classify_pixels(const std::uint8_t* pixels, int width, int height,
                                          int top_k = 1);

  const std::vector<std::string>& class_names() const;
  const std::string& arch() const;  // "cnn", "cnn-bn" or "resnet"

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fmnist
