#include "fmnist/kernels/batch_norm_relu.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "pool_window.hpp"

namespace fmnist {
namespace {

using detail::empty_channels_last;

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// A channels-last tensor seen as `rows` pixels of `channels` values each, walked in tiles of
// whole rows about kTileElements long. The per-channel coefficients are repeated to a tile's
// length, so that the kernels' inner loops run over hundreds of elements: over one row of 16
// channels, the loop's set-up cost more than its work.
constexpr std::int64_t kTileElements = 512;

struct Rows {
  std::int64_t rows, channels, tile_rows;

  explicit Rows(const torch::Tensor& x)
      : rows(x.size(0) * x.size(2) * x.size(3)),
        channels(x.size(1)),
        tile_rows(std::max<std::int64_t>(1, kTileElements / channels)) {}

  std::int64_t tile_length() const { return tile_rows * channels; }

  template <typename T>
  std::vector<float> tiled(const T* per_channel) const {
    std::vector<float> tile(tile_length());
    for (std::int64_t i = 0; i < tile_length(); ++i) {
      tile[i] = static_cast<float>(per_channel[i % channels]);
    }
    return tile;
  }

  // Calls kernel(offset, length), in elements, for each tile of rows [first, end).
  template <typename Kernel>
  void for_tiles(std::int64_t first, std::int64_t end, const Kernel& kernel) const {
    for (std::int64_t row = first; row < end; row += tile_rows) {
      kernel(row * channels, std::min(tile_rows, end - row) * channels);
    }
  }

  // Runs kernel(offset, length) over all rows on LibTorch's threads.
  template <typename Kernel>
  void parallel_tiles(const Kernel& kernel) const {
    at::parallel_for(0, rows, /*grain_size=*/tile_rows * 4,
                     [&](std::int64_t first, std::int64_t end) { for_tiles(first, end, kernel); });
  }
};

// Per-channel sums are taken over fixed chunks of rows and added in chunk order, so the result
// does not depend on the number of threads (a resumed or distributed run may use another).
constexpr std::int64_t kChunkRows = 512;

// Two per-channel sums over all rows, in double. `sum_tile(offset, length, a, b)` adds one
// tile's terms into a and b, tile-long accumulators of type Acc (float is exact enough for
// one chunk, and what some kernels vectorise).
template <typename Acc, typename SumTile>
std::pair<std::vector<double>, std::vector<double>> channel_sums(const Rows& s,
                                                                 const SumTile& sum_tile) {
  std::int64_t chunks = (s.rows + kChunkRows - 1) / kChunkRows;
  std::vector<double> partial(static_cast<std::size_t>(chunks * 2 * s.channels), 0.0);
  at::parallel_for(0, chunks, /*grain_size=*/1, [&](std::int64_t begin, std::int64_t end) {
    std::vector<Acc> a(s.tile_length()), b(s.tile_length());
    for (std::int64_t chunk = begin; chunk < end; ++chunk) {
      std::fill(a.begin(), a.end(), Acc{0});
      std::fill(b.begin(), b.end(), Acc{0});
      s.for_tiles(chunk * kChunkRows, std::min(s.rows, (chunk + 1) * kChunkRows),
                  [&](std::int64_t offset, std::int64_t length) {
                    sum_tile(offset, length, a.data(), b.data());
                  });
      double* p = partial.data() + chunk * 2 * s.channels;
      for (std::int64_t i = 0; i < s.tile_length(); ++i) {
        p[i % s.channels] += a[i];
        p[s.channels + i % s.channels] += b[i];
      }
    }
  });
  std::vector<double> a(s.channels, 0.0), b(s.channels, 0.0);
  for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
    const double* p = partial.data() + chunk * 2 * s.channels;
    for (std::int64_t ch = 0; ch < s.channels; ++ch) {
      a[ch] += p[ch];
      b[ch] += p[s.channels + ch];
    }
  }
  return {a, b};
}

// Per-channel coefficients of a forward pass, repeated over a tile: y = relu(x * scale + shift).
// The backward pass recomputes ReLU's mask from x with the same arithmetic rather than reading
// the output back: one tensor fewer to stream through memory.
struct Affine {
  std::vector<float> scale, shift, mean;
};

FMNIST_VECTOR_CLONES void sum_x(const float* __restrict x, std::int64_t n, double* __restrict sum,
                                double* __restrict sum_sq) {
  for (std::int64_t i = 0; i < n; ++i) {
    double v = x[i];
    sum[i] += v;
    sum_sq[i] += v * v;
  }
}

FMNIST_VECTOR_CLONES void normalize_relu(const float* __restrict x, std::int64_t n, const Affine& f,
                                         float* __restrict y) {
  const float* __restrict scale = f.scale.data();
  const float* __restrict shift = f.shift.data();
  for (std::int64_t i = 0; i < n; ++i) {
    float v = x[i] * scale[i] + shift[i];
    // std::max would turn NaN into 0; ReLU in LibTorch keeps it.
    y[i] = v > 0 || std::isnan(v) ? v : 0.0f;
  }
}

// The sums batch norm's backward needs, of g = dy where the output was positive, else 0
// (ReLU's backward): sum(g) and sum(g * (x - mean)) per channel.
FMNIST_VECTOR_CLONES void sum_grad(const float* __restrict dy, const float* __restrict x,
                                   std::int64_t n, const Affine& f, float* __restrict sum_g,
                                   float* __restrict sum_gx) {
  const float* __restrict scale = f.scale.data();
  const float* __restrict shift = f.shift.data();
  const float* __restrict mean = f.mean.data();
  for (std::int64_t i = 0; i < n; ++i) {
    float v = x[i] * scale[i] + shift[i];
    float g = v > 0 ? dy[i] : 0.0f;
    sum_g[i] += g;
    sum_gx[i] += g * (x[i] - mean[i]);
  }
}

// dx = a * g + b * (x - mean) + c per channel (batch norm's input gradient, expanded).
struct GradCoefficients {
  std::vector<float> a, b, c;
};

FMNIST_VECTOR_CLONES void grad_input(const float* __restrict dy, const float* __restrict x,
                                     std::int64_t n, const Affine& f, const GradCoefficients& k,
                                     float* __restrict dx) {
  const float* __restrict scale = f.scale.data();
  const float* __restrict shift = f.shift.data();
  const float* __restrict mean = f.mean.data();
  const float* __restrict a = k.a.data();
  const float* __restrict b = k.b.data();
  const float* __restrict c = k.c.data();
  for (std::int64_t i = 0; i < n; ++i) {
    float v = x[i] * scale[i] + shift[i];
    float g = v > 0 ? dy[i] : 0.0f;
    dx[i] = a[i] * g + b[i] * (x[i] - mean[i]) + c[i];
  }
}

torch::Tensor float_tensor(const std::vector<double>& values) {
  return torch::tensor(std::vector<float>(values.begin(), values.end()));
}

class BatchNormRelu : public torch::autograd::Function<BatchNormRelu> {
 public:
  static torch::Tensor forward(AutogradContext* context, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               const torch::Tensor& running_mean, const torch::Tensor& running_var,
                               double momentum, double eps) {
    Rows s(x);
    const float* in = x.data_ptr<float>();
    auto [sum, sum_sq] =
        channel_sums<double>(s, [&](std::int64_t offset, std::int64_t length, double* a,
                                    double* b) { sum_x(in + offset, length, a, b); });
    std::vector<double> mean(s.channels), invstd(s.channels), unbiased_var(s.channels);
    std::vector<double> scale(s.channels), shift(s.channels);
    const float* w = weight.data_ptr<float>();
    const float* bi = bias.data_ptr<float>();
    for (std::int64_t ch = 0; ch < s.channels; ++ch) {
      mean[ch] = sum[ch] / s.rows;
      double var = std::max(sum_sq[ch] / s.rows - mean[ch] * mean[ch], 0.0);
      invstd[ch] = 1.0 / std::sqrt(var + eps);
      unbiased_var[ch] = var * s.rows / (s.rows - 1);
      scale[ch] = w[ch] * invstd[ch];
      shift[ch] = bi[ch] - mean[ch] * scale[ch];
    }
    Affine f{s.tiled(scale.data()), s.tiled(shift.data()), s.tiled(mean.data())};
    torch::Tensor y =
        empty_channels_last(x.size(0), s.channels, x.size(2), x.size(3), torch::kFloat);
    float* out = y.data_ptr<float>();
    s.parallel_tiles([&](std::int64_t offset, std::int64_t length) {
      normalize_relu(in + offset, length, f, out + offset);
    });
    running_mean.mul_(1 - momentum).add_(float_tensor(mean), momentum);
    running_var.mul_(1 - momentum).add_(float_tensor(unbiased_var), momentum);
    context->save_for_backward({x, weight, float_tensor(scale), float_tensor(shift),
                                float_tensor(mean), float_tensor(invstd)});
    return y;
  }

  static tensor_list backward(AutogradContext* context, tensor_list grad_outputs) {
    tensor_list saved = context->get_saved_variables();
    const torch::Tensor& x = saved[0];
    Rows s(x);
    torch::Tensor grad_out = grad_outputs[0].contiguous(torch::MemoryFormat::ChannelsLast);
    const float* dy = grad_out.data_ptr<float>();
    const float* in = x.data_ptr<float>();
    const float* w = saved[1].data_ptr<float>();
    Affine f{s.tiled(saved[2].data_ptr<float>()), s.tiled(saved[3].data_ptr<float>()),
             s.tiled(saved[4].data_ptr<float>())};
    const float* invstd = saved[5].data_ptr<float>();
    auto [sum_g, sum_gx] =
        channel_sums<float>(s, [&](std::int64_t offset, std::int64_t length, float* a, float* b) {
          sum_grad(dy + offset, in + offset, length, f, a, b);
        });
    std::vector<double> a(s.channels), b(s.channels), c(s.channels), grad_weight(s.channels);
    for (std::int64_t ch = 0; ch < s.channels; ++ch) {
      double scale = static_cast<double>(w[ch]) * invstd[ch];
      a[ch] = scale;
      b[ch] = -scale * invstd[ch] * invstd[ch] * sum_gx[ch] / s.rows;
      c[ch] = -scale * sum_g[ch] / s.rows;
      grad_weight[ch] = sum_gx[ch] * invstd[ch];
    }
    GradCoefficients k{s.tiled(a.data()), s.tiled(b.data()), s.tiled(c.data())};
    torch::Tensor grad_in =
        empty_channels_last(x.size(0), s.channels, x.size(2), x.size(3), torch::kFloat);
    float* dx = grad_in.data_ptr<float>();
    s.parallel_tiles([&](std::int64_t offset, std::int64_t length) {
      grad_input(dy + offset, in + offset, length, f, k, dx + offset);
    });
    return {grad_in, float_tensor(grad_weight), float_tensor(sum_g), {}, {}, {}, {}};
  }
};

bool takes_fused_kernel(const torch::Tensor& x, const torch::nn::BatchNorm2dImpl& bn) {
  const auto& options = bn.options;
  return bn.is_training() && options.affine() && options.track_running_stats() &&
         options.momentum().has_value() && x.device().is_cpu() &&
         x.scalar_type() == torch::kFloat && x.dim() == 4 && x.size(1) == options.num_features() &&
         x.size(0) * x.size(2) * x.size(3) > 1 &&
         x.is_contiguous(torch::MemoryFormat::ChannelsLast) && !x.is_mkldnn() &&
         bn.weight.scalar_type() == torch::kFloat && bn.weight.is_contiguous();
}

}  // namespace

torch::Tensor batch_norm_relu(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn) {
  if (!takes_fused_kernel(x, bn)) return bn.forward(x).relu_();
  {
    torch::NoGradGuard no_grad;
    bn.num_batches_tracked.add_(1);
  }
  return BatchNormRelu::apply(x, bn.weight, bn.bias, bn.running_mean, bn.running_var,
                              *bn.options.momentum(), bn.options.eps());
}

}  // namespace fmnist
