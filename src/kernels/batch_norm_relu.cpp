#include "fmnist/kernels/batch_norm_relu.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
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
    for (std::int64_t row = 0; row < tile_rows; ++row) {
      std::copy(per_channel, per_channel + channels, tile.begin() + row * channels);
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

template <std::size_t N>
using ChannelSums = std::array<std::vector<double>, N>;

// N per-channel sums over all rows, in double. `sum_tile(offset, length, acc)` adds one tile's
// terms into acc[0..N), tile-long accumulators of type Acc (float is exact enough for one
// chunk, and what some kernels vectorise).
template <typename Acc, std::size_t N, typename SumTile>
ChannelSums<N> channel_sums(const Rows& s, const SumTile& sum_tile) {
  std::int64_t chunks = (s.rows + kChunkRows - 1) / kChunkRows;
  const std::int64_t stride = static_cast<std::int64_t>(N) * s.channels;
  std::vector<double> partial(static_cast<std::size_t>(chunks * stride), 0.0);
  at::parallel_for(0, chunks, /*grain_size=*/1, [&](std::int64_t begin, std::int64_t end) {
    std::array<std::vector<Acc>, N> acc;
    std::array<Acc*, N> tiles;
    for (std::size_t k = 0; k < N; ++k) {
      acc[k].resize(s.tile_length());
      tiles[k] = acc[k].data();
    }
    for (std::int64_t chunk = begin; chunk < end; ++chunk) {
      for (auto& a : acc) std::fill(a.begin(), a.end(), Acc{0});
      s.for_tiles(
          chunk * kChunkRows, std::min(s.rows, (chunk + 1) * kChunkRows),
          [&](std::int64_t offset, std::int64_t length) { sum_tile(offset, length, tiles); });
      double* p = partial.data() + chunk * stride;
      for (std::size_t k = 0; k < N; ++k, p += s.channels) {
        // Row by row: `i % channels` per element cost more than the sums themselves, a tenth
        // of the training step.
        for (const Acc* row = tiles[k]; row < tiles[k] + s.tile_length(); row += s.channels) {
          for (std::int64_t ch = 0; ch < s.channels; ++ch) p[ch] += row[ch];
        }
      }
    }
  });
  ChannelSums<N> sums;
  for (auto& sum : sums) sum.assign(s.channels, 0.0);
  for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
    const double* p = partial.data() + chunk * stride;
    for (std::size_t k = 0; k < N; ++k) {
      for (std::int64_t ch = 0; ch < s.channels; ++ch) sums[k][ch] += p[k * s.channels + ch];
    }
  }
  return sums;
}

// The fused op's K inputs (1, or 2 at a residual block's end), each batch-normalised, summed,
// then one ReLU: y = relu(x0 * scale0 + x1 * scale1 + shift), coefficients repeated over a tile.
// The backward pass recomputes ReLU's mask from the inputs with the same arithmetic rather
// than reading the output back: one tensor fewer to stream through memory.
template <int K>
struct Affine {
  static_assert(K == 1 || K == 2, "one batch-normalised input, or two added");
  std::array<std::vector<float>, K> scale, mean;
  std::vector<float> shift;  // the branches' shifts, summed
};

FMNIST_VECTOR_CLONES void sum_x(const float* __restrict x, std::int64_t n, double* __restrict sum,
                                double* __restrict sum_sq) {
  for (std::int64_t i = 0; i < n; ++i) {
    double v = x[i];
    sum[i] += v;
    sum_sq[i] += v * v;
  }
}

template <int K>
FMNIST_VECTOR_CLONES void normalize_relu(const float* __restrict x0, const float* __restrict x1,
                                         std::int64_t n, const Affine<K>& f, float* __restrict y) {
  const float* __restrict scale0 = f.scale[0].data();
  const float* __restrict scale1 = f.scale[K - 1].data();
  const float* __restrict shift = f.shift.data();
  for (std::int64_t i = 0; i < n; ++i) {
    float v = x0[i] * scale0[i] + shift[i];
    if constexpr (K == 2) v += x1[i] * scale1[i];
    // std::max would turn NaN into 0; ReLU in LibTorch keeps it.
    y[i] = v > 0 || std::isnan(v) ? v : 0.0f;
  }
}

// The sums batch norm's backward needs, of g = dy where the output was positive, else 0
// (ReLU's backward): sum(g) and, per input, sum(g * (x - mean)) per channel.
template <int K>
FMNIST_VECTOR_CLONES void sum_grad(const float* __restrict dy, const float* __restrict x0,
                                   const float* __restrict x1, std::int64_t n, const Affine<K>& f,
                                   float* __restrict sum_g, float* __restrict sum_gx0,
                                   float* __restrict sum_gx1) {
  const float* __restrict scale0 = f.scale[0].data();
  const float* __restrict scale1 = f.scale[K - 1].data();
  const float* __restrict mean0 = f.mean[0].data();
  const float* __restrict mean1 = f.mean[K - 1].data();
  const float* __restrict shift = f.shift.data();
  for (std::int64_t i = 0; i < n; ++i) {
    float v = x0[i] * scale0[i] + shift[i];
    if constexpr (K == 2) v += x1[i] * scale1[i];
    float g = v > 0 ? dy[i] : 0.0f;
    sum_g[i] += g;
    sum_gx0[i] += g * (x0[i] - mean0[i]);
    if constexpr (K == 2) sum_gx1[i] += g * (x1[i] - mean1[i]);
  }
}

// dx = a * g + b * (x - mean) + c per channel and input (batch norm's input gradient,
// expanded).
template <int K>
struct GradCoefficients {
  std::array<std::vector<float>, K> a, b, c;
};

template <int K>
FMNIST_VECTOR_CLONES void grad_input(const float* __restrict dy, const float* __restrict x0,
                                     const float* __restrict x1, std::int64_t n, const Affine<K>& f,
                                     const GradCoefficients<K>& k, float* __restrict dx0,
                                     float* __restrict dx1) {
  const float* __restrict scale0 = f.scale[0].data();
  const float* __restrict scale1 = f.scale[K - 1].data();
  const float* __restrict mean0 = f.mean[0].data();
  const float* __restrict mean1 = f.mean[K - 1].data();
  const float* __restrict shift = f.shift.data();
  const float* __restrict a0 = k.a[0].data();
  const float* __restrict b0 = k.b[0].data();
  const float* __restrict c0 = k.c[0].data();
  const float* __restrict a1 = k.a[K - 1].data();
  const float* __restrict b1 = k.b[K - 1].data();
  const float* __restrict c1 = k.c[K - 1].data();
  for (std::int64_t i = 0; i < n; ++i) {
    float v = x0[i] * scale0[i] + shift[i];
    if constexpr (K == 2) v += x1[i] * scale1[i];
    float g = v > 0 ? dy[i] : 0.0f;
    dx0[i] = a0[i] * g + b0[i] * (x0[i] - mean0[i]) + c0[i];
    if constexpr (K == 2) dx1[i] = a1[i] * g + b1[i] * (x1[i] - mean1[i]) + c1[i];
  }
}

torch::Tensor float_tensor(const std::vector<double>& values) {
  return torch::tensor(std::vector<float>(values.begin(), values.end()));
}

torch::Tensor empty_like_channels_last(const torch::Tensor& x) {
  return empty_channels_last(x.size(0), x.size(1), x.size(2), x.size(3), torch::kFloat);
}

// One input's batch statistics, running-statistics update and forward coefficients.
struct Normalization {
  std::vector<double> mean, invstd, scale, shift;
};

Normalization normalize_statistics(const Rows& s, const torch::Tensor& x,
                                   const torch::Tensor& weight, const torch::Tensor& bias,
                                   const torch::Tensor& running_mean,
                                   const torch::Tensor& running_var, double momentum, double eps) {
  const float* in = x.data_ptr<float>();
  auto [sum, sum_sq] = channel_sums<double, 2>(
      s, [&](std::int64_t offset, std::int64_t length, const std::array<double*, 2>& acc) {
        sum_x(in + offset, length, acc[0], acc[1]);
      });
  Normalization n;
  std::vector<double> unbiased_var(s.channels);
  n.mean.resize(s.channels);
  n.invstd.resize(s.channels);
  n.scale.resize(s.channels);
  n.shift.resize(s.channels);
  const float* w = weight.data_ptr<float>();
  const float* bi = bias.data_ptr<float>();
  for (std::int64_t ch = 0; ch < s.channels; ++ch) {
    n.mean[ch] = sum[ch] / s.rows;
    double var = std::max(sum_sq[ch] / s.rows - n.mean[ch] * n.mean[ch], 0.0);
    n.invstd[ch] = 1.0 / std::sqrt(var + eps);
    unbiased_var[ch] = var * s.rows / (s.rows - 1);
    n.scale[ch] = w[ch] * n.invstd[ch];
    n.shift[ch] = bi[ch] - n.mean[ch] * n.scale[ch];
  }
  running_mean.mul_(1 - momentum).add_(float_tensor(n.mean), momentum);
  running_var.mul_(1 - momentum).add_(float_tensor(unbiased_var), momentum);
  return n;
}

// `inputs` holds (x, weight, bias) per batch-normalised input, `running` (running mean,
// running variance) per input; their sum goes through one ReLU.
template <int K>
class BatchNormAddRelu : public torch::autograd::Function<BatchNormAddRelu<K>> {
 public:
  static torch::Tensor forward(AutogradContext* context, at::TensorList inputs,
                               const std::vector<torch::Tensor>& running, double momentum,
                               double eps) {
    Rows s(inputs[0]);
    Affine<K> f;
    std::vector<double> shift(s.channels, 0.0);
    torch::autograd::variable_list saved;
    std::array<const float*, K> x;
    for (int k = 0; k < K; ++k) {
      const torch::Tensor& input = inputs[3 * k];
      Normalization n = normalize_statistics(s, input, inputs[3 * k + 1], inputs[3 * k + 2],
                                             running[2 * k], running[2 * k + 1], momentum, eps);
      for (std::int64_t ch = 0; ch < s.channels; ++ch) shift[ch] += n.shift[ch];
      f.scale[k] = s.tiled(n.scale.data());
      f.mean[k] = s.tiled(n.mean.data());
      x[k] = input.data_ptr<float>();
      saved.insert(saved.end(), {input, inputs[3 * k + 1], float_tensor(n.scale),
                                 float_tensor(n.mean), float_tensor(n.invstd)});
    }
    f.shift = s.tiled(shift.data());
    saved.push_back(float_tensor(shift));
    torch::Tensor y = empty_like_channels_last(inputs[0]);
    float* out = y.data_ptr<float>();
    s.parallel_tiles([&](std::int64_t offset, std::int64_t length) {
      normalize_relu<K>(x[0] + offset, x[K - 1] + offset, length, f, out + offset);
    });
    context->save_for_backward(saved);
    return y;
  }

  static tensor_list backward(AutogradContext* context, tensor_list grad_outputs) {
    tensor_list saved = context->get_saved_variables();
    Rows s(saved[0]);
    torch::Tensor grad_out = grad_outputs[0].contiguous(torch::MemoryFormat::ChannelsLast);
    const float* dy = grad_out.data_ptr<float>();
    Affine<K> f;
    std::array<const float*, K> x;
    for (int k = 0; k < K; ++k) {
      x[k] = saved[5 * k].data_ptr<float>();
      f.scale[k] = s.tiled(saved[5 * k + 2].data_ptr<float>());
      f.mean[k] = s.tiled(saved[5 * k + 3].data_ptr<float>());
    }
    f.shift = s.tiled(saved[5 * K].data_ptr<float>());
    ChannelSums<K + 1> sums = channel_sums<float, K + 1>(
        s, [&](std::int64_t offset, std::int64_t length, const std::array<float*, K + 1>& acc) {
          sum_grad<K>(dy + offset, x[0] + offset, x[K - 1] + offset, length, f, acc[0], acc[1],
                      acc[K]);
        });
    const std::vector<double>& sum_g = sums[0];
    GradCoefficients<K> coefficients;
    tensor_list grads(3 * K + 3);
    std::array<float*, K> dx;
    for (int k = 0; k < K; ++k) {
      const std::vector<double>& sum_gx = sums[k + 1];
      const float* w = saved[5 * k + 1].data_ptr<float>();
      const float* invstd = saved[5 * k + 4].data_ptr<float>();
      std::vector<double> a(s.channels), b(s.channels), c(s.channels), grad_weight(s.channels);
      for (std::int64_t ch = 0; ch < s.channels; ++ch) {
        double scale = static_cast<double>(w[ch]) * invstd[ch];
        a[ch] = scale;
        b[ch] = -scale * invstd[ch] * invstd[ch] * sum_gx[ch] / s.rows;
        c[ch] = -scale * sum_g[ch] / s.rows;
        grad_weight[ch] = sum_gx[ch] * invstd[ch];
      }
      coefficients.a[k] = s.tiled(a.data());
      coefficients.b[k] = s.tiled(b.data());
      coefficients.c[k] = s.tiled(c.data());
      grads[3 * k] = empty_like_channels_last(saved[5 * k]);
      grads[3 * k + 1] = float_tensor(grad_weight);
      grads[3 * k + 2] = float_tensor(sum_g);
      dx[k] = grads[3 * k].data_ptr<float>();
    }
    s.parallel_tiles([&](std::int64_t offset, std::int64_t length) {
      grad_input<K>(dy + offset, x[0] + offset, x[K - 1] + offset, length, f, coefficients,
                    dx[0] + offset, dx[K - 1] + offset);
    });
    return grads;
  }
};

bool takes_fused_kernel(const torch::Tensor& x, const torch::nn::BatchNorm2dImpl& bn) {
  const auto& options = bn.options;
  return bn.is_training() && options.affine() && options.track_running_stats() &&
         options.momentum().has_value() && detail::is_cpu_float_channels_last(x) &&
         x.size(1) == options.num_features() && x.size(0) * x.size(2) * x.size(3) > 1 &&
         bn.weight.scalar_type() == torch::kFloat && bn.weight.is_contiguous();
}

// Both batch norms must share momentum and eps to share one op (they are LibTorch's defaults
// in every network here).
bool same_options(const torch::nn::BatchNorm2dImpl& a, const torch::nn::BatchNorm2dImpl& b) {
  return a.options.momentum() == b.options.momentum() && a.options.eps() == b.options.eps();
}

void count_batch(torch::nn::BatchNorm2dImpl& bn) {
  torch::NoGradGuard no_grad;
  bn.num_batches_tracked.add_(1);
}

}  // namespace

torch::Tensor batch_norm_relu(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& bn) {
  if (!takes_fused_kernel(x, bn)) return bn.forward(x).relu_();
  count_batch(bn);
  return BatchNormAddRelu<1>::apply(at::TensorList({x, bn.weight, bn.bias}),
                                    std::vector<torch::Tensor>{bn.running_mean, bn.running_var},
                                    *bn.options.momentum(), bn.options.eps());
}

torch::Tensor batch_norm_add_relu(const torch::Tensor& a, torch::nn::BatchNorm2dImpl& bn_a,
                                  const torch::Tensor& b, torch::nn::BatchNorm2dImpl& bn_b) {
  if (!takes_fused_kernel(a, bn_a) || !takes_fused_kernel(b, bn_b) || a.sizes() != b.sizes() ||
      !same_options(bn_a, bn_b)) {
    return (bn_a.forward(a) + bn_b.forward(b)).relu_();
  }
  count_batch(bn_a);
  count_batch(bn_b);
  return BatchNormAddRelu<2>::apply(
      at::TensorList({a, bn_a.weight, bn_a.bias, b, bn_b.weight, bn_b.bias}),
      std::vector<torch::Tensor>{bn_a.running_mean, bn_a.running_var, bn_b.running_mean,
                                 bn_b.running_var},
      *bn_a.options.momentum(), bn_a.options.eps());
}

}  // namespace fmnist
