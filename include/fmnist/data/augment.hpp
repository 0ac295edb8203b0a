#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace fmnist {

inline constexpr std::int64_t kAugmentPad = 2;  // pixels; crops shift items by up to 2

// Training-time augmentation of model inputs [N, 1, H, W], on the inputs' device, from
// LibTorch's global generator (seeded per epoch by training): each image is mirrored
// left-right with probability 1/2, then zero-padded by kAugmentPad and cropped back to H x W
// at a random offset.
torch::Tensor augment_batch(const torch::Tensor& inputs);

// Random erasing (Zhong et al. 2017) of model inputs [N, 1, H, W], from LibTorch's global
// generator: with `probability`, each image gets one rectangle set to 0 (the background), of
// kEraseAreaMin..kEraseAreaMax of the image and an aspect ratio kEraseAspectMin..Max
// (log-uniform), inside the image.
inline constexpr double kEraseAreaMin = 0.02;
inline constexpr double kEraseAreaMax = 0.25;
inline constexpr double kEraseAspectMin = 0.3;
inline constexpr double kEraseAspectMax = 1 / 0.3;
torch::Tensor erase_batch(const torch::Tensor& inputs, double probability);

}  // namespace fmnist
