#include "fmnist/image/image.hpp"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "fmnist/base/error.hpp"
#include "fmnist/base/file_util.hpp"
#include "fmnist/data/fashion_mnist.hpp"
#include "fmnist/image/exif.hpp"

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

// Grey in [0, 1] from the decoded bytes [H, W, C], one float plane at a time: at most three
// planes (4 bytes a pixel each) are alive at once, where converting every channel to float first
// and then taking a dot product peaks near 37 bytes a pixel for RGBA (2.4 GB at kMaxImagePixels).
torch::Tensor to_gray(const torch::Tensor& pixels) {
  std::int64_t channels = pixels.size(2);
  if (channels == 1) {  // the data set's own format: one loop, where LibTorch's ops took 20 µs
    torch::Tensor gray = torch::empty({pixels.size(0), pixels.size(1)});
    const std::uint8_t* from = pixels.data_ptr<std::uint8_t>();
    float* to = gray.data_ptr<float>();
    for (std::int64_t i = 0; i < gray.numel(); ++i) to[i] = static_cast<float>(from[i]) / 255.0f;
    return gray;
  }
  auto plane = [&](std::int64_t c) { return pixels.select(2, c).to(torch::kFloat32).div_(255); };
  torch::Tensor gray = plane(0);
  if (channels >= 3) gray.mul_(0.299f).add_(plane(1), 0.587f).add_(plane(2), 0.114f);
  if (channels == 3) return gray;
  // The alpha channel is the item's mask: composite over white, the usual page behind a
  // cut-out product, unless the item is light (a white sneaker), which would vanish there:
  // then over black, the data set's own background.
  torch::Tensor alpha = plane(channels - 1);
  double coverage = alpha.sum().item<double>();
  bool light_item = coverage > 0 && (gray * alpha).sum().item<double>() / coverage > 0.5;
  gray.mul_(alpha);
  return light_item ? gray : gray.sub_(alpha).add_(1);  // gray * alpha + (1 - alpha)
}

// What preprocess_image decides from an image's pixels, computed on the floats in two passes:
// a dozen LibTorch ops took 29 µs for a 28x28 image, most of a served request's own work.
struct Backdrop {
  double background;  // the median of the border pixels (the lower middle one)
  bool inverted;      // the item is darker than the background: the model sees 1 - image
  double brightest;   // the brightest pixel of what the model sees
};

// `image` is a contiguous float CPU tensor. The item's mean difference from the background is
// summed in double (LibTorch's mean summed floats): the sign can differ only for a sum within
// rounding of zero.
Backdrop measure_backdrop(const torch::Tensor& image) {
  const float* pixels = image.data_ptr<float>();
  const std::int64_t height = image.size(0), width = image.size(1);
  std::vector<float> border;  // the four edges, corners twice, as torch.cat of them had
  border.reserve(2 * (height + width));
  for (std::int64_t x = 0; x < width; ++x) border.push_back(pixels[x]);
  for (std::int64_t x = 0; x < width; ++x) border.push_back(pixels[(height - 1) * width + x]);
  for (std::int64_t y = 0; y < height; ++y) border.push_back(pixels[y * width]);
  for (std::int64_t y = 0; y < height; ++y) border.push_back(pixels[y * width + width - 1]);
  auto middle = border.begin() + (border.size() - 1) / 2;
  std::nth_element(border.begin(), middle, border.end());
  Backdrop backdrop{*middle, false, 0.0};
  const float background = *middle;
  double item_sum = 0.0;
  std::int64_t item_count = 0;
  float lowest = pixels[0], highest = pixels[0];
  for (std::int64_t i = 0; i < height * width; ++i) {
    const float difference = pixels[i] - background;
    if (std::abs(difference) > static_cast<float>(kItemThreshold)) {
      item_sum += difference;
      ++item_count;
    }
    lowest = std::min(lowest, pixels[i]);
    highest = std::max(highest, pixels[i]);
  }
  // The model knows light items on black. An item darker than its background (the usual
  // product photo) is inverted; one lighter than it (a white sneaker on light grey) is not,
  // whatever the background's own shade.
  backdrop.inverted = item_count > 0 ? item_sum < 0 : backdrop.background > 0.5;
  if (backdrop.inverted) backdrop.background = 1 - backdrop.background;
  backdrop.brightest = backdrop.inverted ? 1.0f - lowest : highest;  // as max(1 - image)
  return backdrop;
}

// [first, last] indices where `mask` (1-D bool) holds; the caller ensures one exists.
std::pair<std::int64_t, std::int64_t> extent(const torch::Tensor& mask) {
  torch::Tensor where = mask.nonzero();
  return {where[0].item<std::int64_t>(), where[-1].item<std::int64_t>()};
}

// [n_out, n_in] weights of exact area averaging: output cell j covers the input interval
// [j, j + 1) * n_in / n_out, each input pixel weighted by its overlap. Unlike adaptive pooling,
// whose windows overlap whole pixels, this is what shrinking an image should average.
torch::Tensor area_weights(std::int64_t n_in, std::int64_t n_out) {
  torch::Tensor weights = torch::zeros({n_out, n_in});
  auto w = weights.accessor<float, 2>();
  double ratio = static_cast<double>(n_in) / static_cast<double>(n_out);
  for (std::int64_t j = 0; j < n_out; ++j) {
    double start = j * ratio, end = (j + 1) * ratio;
    auto last = std::min(n_in, static_cast<std::int64_t>(std::ceil(end)));
    for (auto i = static_cast<std::int64_t>(start); i < last; ++i) {
      w[j][i] = static_cast<float>((std::min(end, i + 1.0) - std::max(start, double(i))) / ratio);
    }
  }
  return weights;
}

torch::Tensor resize(const torch::Tensor& item, std::int64_t height, std::int64_t width) {
  if (height <= item.size(0) && width <= item.size(1)) {
    return area_weights(item.size(0), height)
        .matmul(item)
        .matmul(area_weights(item.size(1), width).t());
  }
  torch::Tensor batch = item.unsqueeze(0).unsqueeze(0);
  return torch::upsample_bilinear2d(batch, {height, width}, /*align_corners=*/false)
      .squeeze(0)
      .squeeze(0);
}

// Fashion-MNIST sharpened its images after resizing them, with a Gaussian of standard deviation
// 1 (its README): an unsharp mask of that width gives a resized photo the data set's crisp
// outlines back. Tuned on photos of test images 1000-1999 (scripts/photo_check.py).
constexpr double kSharpenSigma = 1.0;
constexpr double kSharpenAmount = 0.5;
constexpr std::int64_t kSharpenRadius = 3;

torch::Tensor sharpen(const torch::Tensor& image) {
  namespace F = torch::nn::functional;
  torch::Tensor taps = torch::arange(-kSharpenRadius, kSharpenRadius + 1, torch::kFloat32);
  torch::Tensor kernel = taps.square().div_(-2 * kSharpenSigma * kSharpenSigma).exp_();
  kernel.div_(kernel.sum());
  constexpr auto r = kSharpenRadius;
  torch::Tensor padded =
      F::pad(image.unsqueeze(0), F::PadFuncOptions({r, r, r, r}).mode(torch::kReplicate));
  torch::Tensor blurred =
      F::conv2d(F::conv2d(padded, kernel.view({1, 1, 1, -1})), kernel.view({1, 1, -1, 1}))
          .squeeze(0);
  return (image + kSharpenAmount * (image - blurred)).clamp_(0, 1);
}

// The formats fmnist reads, told by their magic numbers: the only decoders compiled into stb_image
// (cmake/stb_impl.cpp), checked here to name them in the error.
constexpr std::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);
constexpr std::string_view kJpegSignature("\xFF\xD8", 2);

bool is_jpeg(std::string_view bytes) {
  return bytes.substr(0, kJpegSignature.size()) == kJpegSignature;
}

bool is_supported_format(std::string_view bytes) {
  auto starts_with = [&](std::string_view magic) { return bytes.substr(0, magic.size()) == magic; };
  return starts_with(kPngSignature) || is_jpeg(bytes) || starts_with("GIF87a") ||
         starts_with("GIF89a") || starts_with("BM") || starts_with("P5") || starts_with("P6");
}

// stb_image (2.30 too) grows its IDAT buffer to a chunk's declared length before reading the
// chunk: a 60-byte PNG can make it allocate 1 GiB. Every chunk must fit in the file.
void check_png_chunks(std::string_view bytes, const std::string& name) {
  if (bytes.substr(0, kPngSignature.size()) != kPngSignature) return;
  std::uint64_t offset = kPngSignature.size();
  while (bytes.size() - offset >= 8) {  // a chunk's length and type
    auto header = reinterpret_cast<const unsigned char*>(bytes.data() + offset);
    std::uint64_t length = (std::uint64_t{header[0]} << 24) | (std::uint64_t{header[1]} << 16) |
                           (std::uint64_t{header[2]} << 8) | std::uint64_t{header[3]};
    if (length + 12 > bytes.size() - offset) {  // length, type, data and CRC
      throw ImageError(name + ": corrupt PNG (a chunk runs past the end of the file)");
    }
    offset += length + 12;
    if (std::string_view(bytes.data() + offset - length - 8, 4) == "IEND") break;
  }
}

void append_to_string(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), size);
}

// stb_image decodes a JPEG cut short as if the missing data were grey, so a truncated file would
// be predicted. Entropy-coded data cannot hold 0xFF 0xD9, so its absence means the end-of-image
// marker, and with it the end of the file, is missing.
void check_jpeg_end(std::string_view bytes, const std::string& name) {
  if (bytes.substr(0, 2) != "\xFF\xD8") return;
  if (bytes.find("\xFF\xD9", 2) == std::string_view::npos) {
    throw ImageError(name + ": corrupt JPEG (truncated: no end-of-image marker)");
  }
}

}  // namespace

torch::Tensor decode_image(std::string_view bytes, const std::string& name) {
  if (bytes.empty()) throw ImageError(name + ": file is empty");
  if (bytes.size() > kMaxImageFileBytes)
    throw ImageError(name + ": file is too large for an image");
  if (!is_supported_format(bytes)) {
    throw ImageError(name + ": not a readable image (not PNG, JPEG, GIF, BMP or binary PGM/PPM)");
  }
  check_png_chunks(bytes, name);
  check_jpeg_end(bytes, name);
  auto data = reinterpret_cast<const stbi_uc*>(bytes.data());
  int length = static_cast<int>(bytes.size());
  int width = 0, height = 0, channels = 0;
  if (!stbi_info_from_memory(data, length, &width, &height, &channels)) {
    throw ImageError(name + ": not a readable image (" + stb_reason() + ")");
  }
  // stbi_info reports a top-down BMP's height as negative (stbi_load decodes abs(height) rows),
  // and a PNM header without digits as 0 by 0.
  std::int64_t pixel_count = std::abs(std::int64_t{width}) * std::abs(std::int64_t{height});
  if (pixel_count == 0) {
    throw ImageError(name + ": not a readable image (it declares " + std::to_string(width) + "x" +
                     std::to_string(height) + " pixels)");
  }
  if (pixel_count > kMaxImagePixels) {
    throw ImageError(name + ": image is " + std::to_string(std::abs(width)) + "x" +
                     std::to_string(std::abs(height)) + ", more than the " +
                     std::to_string(kMaxImagePixels) + " pixels accepted");
  }
  std::unique_ptr<stbi_uc, StbFree> pixels(
      stbi_load_from_memory(data, length, &width, &height, &channels, /*desired_channels=*/0));
  if (!pixels) throw ImageError(name + ": cannot decode image (" + stb_reason() + ")");
  // What was decoded must be what was bounded above.
  if (width <= 0 || height <= 0 || std::int64_t{width} * height != pixel_count || channels < 1 ||
      channels > 4) {
    throw ImageError(name + ": cannot decode image (its header and its data disagree)");
  }
  torch::Tensor gray =
      to_gray(torch::from_blob(pixels.get(), {height, width, channels}, torch::kUInt8));
  return is_jpeg(bytes) ? apply_orientation(gray, exif_orientation(bytes)) : gray;
}

torch::Tensor load_image(const std::filesystem::path& path) {
  return decode_image(read_file(path, kMaxImageFileBytes), path.string());
}

namespace {

// image (contiguous float [H, W]) clamped to [0, 1] as [1, H, W]; NaN stays NaN, as with
// clamp. In one loop: unsqueeze and clamp took 5 µs of a served image.
torch::Tensor clamped_01(const torch::Tensor& image) {
  torch::Tensor out = torch::empty({1, image.size(0), image.size(1)});
  const float* from = image.data_ptr<float>();
  float* to = out.data_ptr<float>();
  for (std::int64_t i = 0; i < image.numel(); ++i) {
    to[i] = from[i] < 0 ? 0 : from[i] > 1 ? 1 : from[i];
  }
  return out;
}

}  // namespace

torch::Tensor preprocess_image(const torch::Tensor& gray, const std::string& name) {
  if (gray.dim() != 2 || gray.numel() == 0 || !gray.is_floating_point()) {
    throw ImageError(name + ": not a grayscale image");  // not what decode_image returns
  }
  torch::Tensor image = gray.to(torch::kCPU, torch::kFloat).contiguous();
  const auto [background, inverted, brightest] = measure_backdrop(image);
  if (inverted) image = 1 - image;
  if (brightest - background < kMinContrast) {
    throw ImageError(name + ": no item found (the image is blank)");
  }
  // Already in the data set's format (e.g. its own images saved as PNGs): the model sees it as
  // is, so that predict agrees with eval; re-cropping would move and resample it.
  if (image.size(0) == kImageSize && image.size(1) == kImageSize) return clamped_01(image);
  image = (image - background).div_(brightest - background).clamp_(0, 1);
  torch::Tensor item_pixels = image > kItemThreshold;
  auto [top, bottom] = extent(item_pixels.any(/*dim=*/1));
  auto [left, right] = extent(item_pixels.any(/*dim=*/0));
  torch::Tensor item = image.slice(0, top, bottom + 1).slice(1, left, right + 1);

  double scale = static_cast<double>(kImageSize) / std::max(item.size(0), item.size(1));
  std::int64_t height = std::clamp<std::int64_t>(std::lround(item.size(0) * scale), 1, kImageSize);
  std::int64_t width = std::clamp<std::int64_t>(std::lround(item.size(1) * scale), 1, kImageSize);
  torch::Tensor canvas = torch::zeros({1, kImageSize, kImageSize});
  // Fashion-MNIST gives the extra pixel of an odd margin to the top and the left.
  std::int64_t y = (kImageSize - height + 1) / 2, x = (kImageSize - width + 1) / 2;
  canvas.slice(1, y, y + height).slice(2, x, x + width).copy_(resize(item, height, width));
  return sharpen(canvas.clamp_(0, 1));
}

std::string encode_png(const torch::Tensor& image) {
  torch::Tensor gray = image.squeeze(0);
  TORCH_CHECK(gray.dim() == 2, "encode_png takes a [H, W] or [1, H, W] image");
  torch::Tensor pixels =
      gray.to(torch::kCPU, torch::kFloat32).mul(255).round_().clamp_(0, 255).to(torch::kUInt8);
  pixels = pixels.contiguous();
  int width = static_cast<int>(pixels.size(1));
  std::string png;
  if (!stbi_write_png_to_func(append_to_string, &png, width, static_cast<int>(pixels.size(0)),
                              /*comp=*/1, pixels.data_ptr(), /*stride_in_bytes=*/width)) {
    throw Error("cannot encode a PNG image");
  }
  return png;
}

}  // namespace fmnist
