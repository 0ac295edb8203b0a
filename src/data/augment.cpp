#include "fmnist/data/augment.hpp"

#include <cmath>

namespace fmnist {

torch::Tensor augment_batch(const torch::Tensor& inputs) {
  TORCH_CHECK(inputs.dim() == 4 && inputs.size(1) == 1, "augment_batch needs [N, 1, H, W]");
  const std::int64_t count = inputs.size(0), height = inputs.size(2), width = inputs.size(3);
  const auto index_options = torch::TensorOptions(torch::kInt64).device(inputs.device());
  torch::Tensor mirror = torch::rand({count, 1, 1, 1}, inputs.options()) < 0.5;
  torch::Tensor flipped = torch::where(mirror, inputs.flip({3}), inputs);
  torch::Tensor padded = torch::constant_pad_nd(
      flipped.squeeze(1), {kAugmentPad, kAugmentPad, kAugmentPad, kAugmentPad}, /*value=*/0);
  // One gather for the whole batch: image b's pixel (y, x) comes from padded[b, dy+y, dx+x].
  torch::Tensor dy = torch::randint(2 * kAugmentPad + 1, {count, 1, 1}, index_options);
  torch::Tensor dx = torch::randint(2 * kAugmentPad + 1, {count, 1, 1}, index_options);
  torch::Tensor rows = dy + torch::arange(height, index_options).view({1, height, 1});
  torch::Tensor cols = dx + torch::arange(width, index_options).view({1, 1, width});
  torch::Tensor batch = torch::arange(count, index_options).view({count, 1, 1});
  return padded.index({batch, rows, cols}).unsqueeze(1);
}

torch::Tensor erase_batch(const torch::Tensor& inputs, double probability) {
  TORCH_CHECK(inputs.dim() == 4 && inputs.size(1) == 1, "erase_batch needs [N, 1, H, W]");
  const std::int64_t count = inputs.size(0), height = inputs.size(2), width = inputs.size(3);
  const auto options = inputs.options();
  auto uniform = [&](double low, double high) {
    return torch::rand({count, 1, 1, 1}, options) * (high - low) + low;
  };
  torch::Tensor apply = torch::rand({count, 1, 1, 1}, options) < probability;
  torch::Tensor area = uniform(kEraseAreaMin, kEraseAreaMax) * static_cast<double>(height * width);
  torch::Tensor aspect = uniform(std::log(kEraseAspectMin), std::log(kEraseAspectMax)).exp();
  torch::Tensor h = (area * aspect).sqrt().round().clamp(1, static_cast<double>(height));
  torch::Tensor w = (area / aspect).sqrt().round().clamp(1, static_cast<double>(width));
  torch::Tensor top = (torch::rand({count, 1, 1, 1}, options) * (height - h + 1)).floor();
  torch::Tensor left = (torch::rand({count, 1, 1, 1}, options) * (width - w + 1)).floor();
  torch::Tensor y = torch::arange(height, options).view({1, 1, height, 1});
  torch::Tensor x = torch::arange(width, options).view({1, 1, 1, width});
  torch::Tensor erased = apply & (y >= top) & (y < top + h) & (x >= left) & (x < left + w);
  return inputs.masked_fill(erased, /*value=*/0);
}

}  // namespace fmnist
