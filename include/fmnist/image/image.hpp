#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace fmnist {

// Larger images are refused from their header, before stb_image decodes (and allocates) them.
inline constexpr std::int64_t kMaxImagePixels = std::int64_t{1} << 26;  // 8192 x 8192
inline constexpr std::uint64_t kMaxImageFileBytes = std::uint64_t{1} << 28;

// Decodes a PNG, JPEG, GIF (its first frame), BMP or binary PGM/PPM image with stb_image, 1-4
// channels, into grayscale float [H, W] in [0, 1], alpha composited over white, a JPEG turned
// upright as its EXIF orientation says. ImageError naming `name` for anything else (stb_image is
// built without its TGA, PSD, PIC and HDR decoders).
torch::Tensor decode_image(std::string_view bytes, const std::string& name);
torch::Tensor load_image(const std::filesystem::path& path);

// Brings a grayscale image to what the model was trained on: a light item on black (a dark
// item on a light background is inverted), background removed, cropped to the item, its longer
// side scaled to 28 pixels, centred as Fashion-MNIST does (an odd margin's extra pixel at the
// top and left). A 28x28 image is taken as already in that form: at most inverted. Returns
// float [1, 28, 28] in [0, 1]; ImageError if the image has no item (a uniform image).
torch::Tensor preprocess_image(const torch::Tensor& gray, const std::string& name);

// An 8-bit grayscale PNG of a float [H, W] or [1, H, W] image in [0, 1].
std::string encode_png(const torch::Tensor& image);

}  // namespace fmnist
