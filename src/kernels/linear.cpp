#include "fmnist/kernels/linear.hpp"

#include "fmnist/kernels/prepared_weights.hpp"
#include "pool_window.hpp"

namespace fmnist {

namespace {

bool needs_gradient(const torch::Tensor& x, const torch::nn::LinearImpl& layer) {
  return torch::GradMode::is_enabled() && (x.requires_grad() || layer.weight.requires_grad());
}

// bias + rows weight^T, as linear computes it; one row as the matrix-vector product.
torch::Tensor affine(const torch::Tensor& rows, const torch::Tensor& weight,
                     const torch::Tensor& bias) {
  if (rows.size(0) == 1) return torch::addmv(bias, weight, rows[0]).unsqueeze(0);
  return torch::addmm(bias, rows, weight.t());
}

}  // namespace

torch::Tensor linear_layer(const torch::Tensor& x, torch::nn::LinearImpl& layer) {
  if (needs_gradient(x, layer) || x.dim() != 2 || x.size(0) != 1 || !x.device().is_cpu() ||
      !layer.bias.defined()) {
    return layer.forward(x);
  }
  return affine(x, layer.weight, layer.bias);
}

torch::Tensor flatten_linear_layer(const torch::Tensor& x, torch::nn::LinearImpl& layer) {
  if (needs_gradient(x, layer) || !detail::is_cpu_float_channels_last(x) ||
      !detail::weights_frozen() || !layer.bias.defined() || layer.weight.dim() != 2 ||
      layer.weight.size(1) != x.size(1) * x.size(2) * x.size(3)) {
    return linear_layer(x.flatten(/*start_dim=*/1), layer);
  }
  const std::int64_t c = x.size(1), h = x.size(2), w = x.size(3);
  torch::Tensor weight =
      detail::prepared_weight(layer.weight, WeightForm::kChannelsLastColumns, /*layout=*/c, [&] {
        return layer.weight.reshape({-1, c, h, w}).permute({0, 2, 3, 1}).reshape({-1, h * w * c});
      });
  return affine(x.permute({0, 2, 3, 1}).reshape({x.size(0), h * w * c}), weight, layer.bias);
}

}  // namespace fmnist
