#include "fmnist/classifier/classifier.hpp"

#include <string>
#include <utility>

#include "fmnist/base/device.hpp"
#include "fmnist/base/runtime.hpp"
#include "fmnist/data/fashion_mnist.hpp"
#include "fmnist/image/image.hpp"
#include "fmnist/model/checkpoint.hpp"
#include "fmnist/model/inference.hpp"
#include "fmnist/predict/predict.hpp"

namespace fmnist {
namespace {

Checkpoint load_for(const std::filesystem::path& path, const ClassifierOptions& options) {
  configure_runtime(options.threads);
  return load_checkpoint(path, select_device(options.device));
}

}  // namespace

struct Classifier::Impl {
  Impl(Checkpoint loaded, bool tta) : checkpoint(std::move(loaded)), model(checkpoint.model, tta) {}

  std::vector<ClassScore> classify(const torch::Tensor& gray, const std::string& name, int top_k) {
    if (top_k < 1 || top_k > kNumClasses) {
      throw UsageError("top_k: must be between 1 and " + std::to_string(kNumClasses));
    }
    torch::Tensor input = preprocess_image(gray, name).unsqueeze(0).to(device());
    return fmnist::classify(model, input, top_k).front();
  }

  torch::Device device() const { return checkpoint.model->parameters().front().device(); }

  Checkpoint checkpoint;
  InferenceModel model;
};

Classifier::Classifier(const std::filesystem::path& checkpoint, const ClassifierOptions& options)
    : impl_(std::make_unique<Impl>(load_for(checkpoint, options), options.tta)) {}

Classifier::~Classifier() = default;
Classifier::Classifier(Classifier&&) noexcept = default;
Classifier& Classifier::operator=(Classifier&&) noexcept = default;

std::vector<ClassScore> Classifier::classify_file(const std::filesystem::path& image, int top_k) {
  return impl_->classify(load_image(image), image.string(), top_k);
}

std::vector<ClassScore> Classifier::classify_encoded(std::string_view bytes, int top_k,
                                                     const std::string& name) {
  return impl_->classify(decode_image(bytes, name), name, top_k);
}

std::vector<ClassScore> Classifier::classify_pixels(const std::uint8_t* pixels, int width,
                                                    int height, int top_k) {
  if (pixels == nullptr || width < 1 || height < 1) {
    throw UsageError("classify_pixels: needs a width and height of at least 1 and pixels");
  }
  torch::Tensor gray =
      torch::from_blob(const_cast<std::uint8_t*>(pixels), {height, width}, torch::kUInt8)
          .to(torch::kFloat32)
          .div(255);
  return impl_->classify(gray, "pixels", top_k);
}

const std::vector<std::string>& Classifier::class_names() const {
  return impl_->checkpoint.class_names;
}

const std::string& Classifier::arch() const { return impl_->checkpoint.arch; }

}  // namespace fmnist
