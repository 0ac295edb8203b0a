#include "fmnist/image.hpp"

#include <stb_image.h>

#include <climits>
#include <memory>

#include "fmnist/error.hpp"
#include "fmnist/file_util.hpp"
#include "fmnist/model.hpp"

namespace fmnist {
namespace {

static_assert(kMaxImageFileBytes < INT_MAX, "stb_image takes the length as int");

// Below this spread between background and brightest pixel, there is no item to find.
constexpr double kMinContrast = 0.05;
// After background removal, pixels above this belong to the item's bounding box.
constexpr double kItemThreshold = 0.1;

struct StbFree {
  void operator()(stbi_uc* pixels) const { stbi_image_free(pixels); }
};

std::string stb_reason() {
  const char* reason = stbi_failure_reason();
  return reason ? reason : "unknown reason";
}

torch::Tensor to_gray(const torch::Tensor& pixels) {
  std::int64_t channels = pixels.size(2);
  bool has_alpha = channels == 2 || channels == 4;
  torch::Tensor color = pixels.slice(/*dim=*/2, 0, has_alpha ? channels - 1 : channels);
  torch::Tensor gray = color.size(2) == 3
                           ? torch::tensordot(color, torch::tensor({0.299f, 0.587f, 0.114f}),
                                              /*dims_a=*/{2}, /*dims_b=*/{0})
                           : color.squeeze(2);
  if (!has_alpha) return gray;
  torch::Tensor alpha = pixels.select(/*dim=*/2, channels - 1);
  return gray * alpha + (1 - alpha);  // over white, the usual page behind a cut-out product
}

torch::Tensor border_pixels(const torch::Tensor& gray) {
  return torch::cat({gray.select(0, 0), gray.select(0, -1), gray.select(1, 0), gray.select(1, -1)});
}

// [first, last] indices where `mask` (1-D bool) holds; the caller ensures one exists.
std::pair<std::int64_t, std::int64_t> extent(const torch::Tensor& mask) {
  torch::Tensor where = mask.nonzero();
  return {where[0].item<std::int64_t>(), where[-1].item<std::int64_t>()};
}

torch::Tensor resize(const torch::Tensor& item, std::int64_t height, std::int64_t width) {
  torch::Tensor batch = item.unsqueeze(0).unsqueeze(0);
  bool shrinking = height <= item.size(0) && width <= item.size(1);
  // Area averaging when shrinking a photo keeps thin details that sampling would skip.
  torch::Tensor resized =
      shrinking ? torch::adaptive_avg_pool2d(batch, {height, width})
                : torch::upsample_bilinear2d(batch, {height, width}, /*align_corners=*/false);
  return resized.squeeze(0);
}

}  // namespace

torch::Tensor decode_image(std::string_view bytes, const std::string& name) {
  if (bytes.empty()) throw ImageError(name + ": file is empty");
  if (bytes.size() > kMaxImageFileBytes)
    throw ImageError(name + ": file is too large for an image");
  auto data = reinterpret_cast<const stbi_uc*>(bytes.data());
  int length = static_cast<int>(bytes.size());
  int width = 0, height = 0, channels = 0;
  if (!stbi_info_from_memory(data, length, &width, &height, &channels)) {
    throw ImageError(name + ": not a readable image (" + stb_reason() + ")");
  }
  if (std::int64_t{width} * height > kMaxImagePixels) {
    throw ImageError(name + ": image is " + std::to_string(width) + "x" + std::to_string(height) +
                     ", more than the " + std::to_string(kMaxImagePixels) + " pixels accepted");
  }
  std::unique_ptr<stbi_uc, StbFree> pixels(
      stbi_load_from_memory(data, length, &width, &height, &channels, /*desired_channels=*/0));
  if (!pixels) throw ImageError(name + ": cannot decode image (" + stb_reason() + ")");
  torch::Tensor hwc = torch::from_blob(pixels.get(), {height, width, channels}, torch::kUInt8)
                          .to(torch::kFloat32)
                          .div_(255);
  return to_gray(hwc);
}

torch::Tensor load_image(const std::filesystem::path& path) {
  return decode_image(read_file(path, kMaxImageFileBytes), path.string());
}

torch::Tensor preprocess_image(const torch::Tensor& gray, const std::string& name) {
  torch::Tensor image = gray;
  double background = border_pixels(image).median().item<double>();
  if (background > 0.5) {
    image = 1 - image;
    background = 1 - background;
  }
  double brightest = image.max().item<double>();
  if (brightest - background < kMinContrast) {
    throw ImageError(name + ": no item found (the image is blank)");
  }
  image = ((image - background) / (brightest - background)).clamp_(0, 1);
  torch::Tensor item_pixels = image > kItemThreshold;
  auto [top, bottom] = extent(item_pixels.any(/*dim=*/1));
  auto [left, right] = extent(item_pixels.any(/*dim=*/0));
  torch::Tensor item = image.slice(0, top, bottom + 1).slice(1, left, right + 1);

  double scale = static_cast<double>(kImageSize) / std::max(item.size(0), item.size(1));
  std::int64_t height = std::clamp<std::int64_t>(std::lround(item.size(0) * scale), 1, kImageSize);
  std::int64_t width = std::clamp<std::int64_t>(std::lround(item.size(1) * scale), 1, kImageSize);
  torch::Tensor canvas = torch::zeros({1, kImageSize, kImageSize});
  std::int64_t y = (kImageSize - height) / 2, x = (kImageSize - width) / 2;
  canvas.slice(1, y, y + height).slice(2, x, x + width).copy_(resize(item, height, width));
  return canvas.clamp_(0, 1);
}

}  // namespace fmnist
