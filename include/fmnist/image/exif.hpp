#pragma once

#include <torch/torch.h>

#include <string_view>

namespace fmnist {

// The EXIF orientation (1-8, TIFF tag 274) of a JPEG's main image; 1, upright, where the file
// has no EXIF data, no such tag or a value outside 1-8. Phone cameras store pixels as the
// sensor saw them and record here how to turn them for display; stb_image ignores it.
int exif_orientation(std::string_view jpeg);

// Turns (and mirrors) a [H, W] image stored with `orientation` into its upright view.
torch::Tensor apply_orientation(const torch::Tensor& image, int orientation);

}  // namespace fmnist
