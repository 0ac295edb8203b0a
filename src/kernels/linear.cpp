#include "fmnist/kernels/linear.hpp"

#include <cstdint>

#include "fmnist/kernels/prepared_weights.hpp"
#include "pool_window.hpp"

namespace fmnist {

namespace {

using detail::kLanes;
using detail::Lanes;
using detail::load_lanes;

constexpr std::int64_t kRowsAtOnce = 4;

bool needs_gradient(const torch::Tensor& x, const torch::nn::LinearImpl& layer) {
  return torch::GradMode::is_enabled() && (x.requires_grad() || layer.weight.requires_grad() ||
                                           (layer.bias.defined() && layer.bias.requires_grad()));
}

float sum_of_lanes(const Lanes& lanes) {
  float sum = 0;
  for (std::int64_t lane = 0; lane < kLanes; ++lane) sum += lanes[lane];
  return sum;
}

// out[o] = bias[o] + the dot product of weight's row o (`inputs` floats, rows contiguous) with
// `in`, kRowsAtOnce rows at a time: each vector of `in` is loaded once for them.
FMNIST_VECTOR_CLONES void affine_row_kernel(const float* in, const float* weight, const float* bias,
                                            std::int64_t inputs, std::int64_t outputs, float* out) {
  const std::int64_t vectors_end = inputs / kLanes * kLanes;
  std::int64_t o = 0;
  for (; o + kRowsAtOnce <= outputs; o += kRowsAtOnce) {
    const float* rows = weight + o * inputs;
    Lanes sums[kRowsAtOnce] = {};
    for (std::int64_t i = 0; i < vectors_end; i += kLanes) {
      Lanes x;
      load_lanes(x, in + i);
      for (std::int64_t r = 0; r < kRowsAtOnce; ++r) {
        Lanes w;
        load_lanes(w, rows + r * inputs + i);
        sums[r] += w * x;
      }
    }
    for (std::int64_t r = 0; r < kRowsAtOnce; ++r) {
      float sum = sum_of_lanes(sums[r]);
      for (std::int64_t i = vectors_end; i < inputs; ++i) sum += rows[r * inputs + i] * in[i];
      out[o + r] = bias[o + r] + sum;
    }
  }
  for (; o < outputs; ++o) {
    float sum = 0;
    for (std::int64_t i = 0; i < inputs; ++i) sum += weight[o * inputs + i] * in[i];
    out[o] = bias[o] + sum;
  }
}

// bias + in weight^T, [1, outputs], for one row `in` of weight.size(1) contiguous floats; no
// autograd. LibTorch's addmv for fc1, with the select, unsqueeze and (flattening channels-last
// input) permute and reshape around it, took 28-30 µs of a served image against 17 µs: each
// LibTorch op cost 1-2 µs there.
torch::Tensor affine_row(const float* in, const torch::Tensor& weight, const torch::Tensor& bias) {
  torch::Tensor out = torch::empty({1, weight.size(0)}, weight.options());
  affine_row_kernel(in, weight.data_ptr<float>(), bias.data_ptr<float>(), weight.size(1),
                    weight.size(0), out.data_ptr<float>());
  return out;
}

// Whether affine_row can take a row of `inputs` floats against this weight and bias.
bool takes_row_kernel(std::int64_t inputs, const torch::Tensor& weight, const torch::Tensor& bias) {
  return detail::is_cpu_float(weight) && detail::is_cpu_float(bias) && weight.is_contiguous() &&
         bias.is_contiguous() && weight.dim() == 2 && weight.size(1) == inputs &&
         bias.numel() == weight.size(0);
}

// bias + rows weight^T, as linear computes it; one row as the matrix-vector product.
torch::Tensor affine(const torch::Tensor& rows, const torch::Tensor& weight,
                     const torch::Tensor& bias) {
  if (rows.size(0) != 1) return torch::addmm(bias, rows, weight.t());
  if (detail::is_cpu_float(rows) && rows.is_contiguous() &&
      takes_row_kernel(rows.size(1), weight, bias)) {
    return affine_row(rows.data_ptr<float>(), weight, bias);
  }
  return torch::addmv(bias, weight, rows[0]).unsqueeze(0);
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
  // One image's channels-last floats are its row in the reordered columns' order.
  if (x.size(0) == 1 && takes_row_kernel(h * w * c, weight, layer.bias)) {
    return affine_row(x.data_ptr<float>(), weight, layer.bias);
  }
  return affine(x.permute({0, 2, 3, 1}).reshape({x.size(0), h * w * c}), weight, layer.bias);
}

}  // namespace fmnist
