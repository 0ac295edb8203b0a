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

}  // namespace fmnist
