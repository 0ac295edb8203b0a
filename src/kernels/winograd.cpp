#include "winograd.hpp"

#include <ATen/Parallel.h>

#include <cstdint>

#include "fmnist/kernels/prepared_weights.hpp"
#include "pool_window.hpp"

namespace fmnist::detail {
namespace {

constexpr std::int64_t kTile = 4;                    // input tile side
constexpr std::int64_t kTilePoints = kTile * kTile;  // Winograd-domain points per tile
// Shapes of one call: n images of in_h x in_w x ic (channels-last), oc output channels,
// pooled output out_h x out_w, one tile per pooled output.
struct TileShape {
  std::int64_t n, ic, oc, in_h, in_w, out_h, out_w;

  std::int64_t tiles() const { return n * out_h * out_w; }
  // Between the planes of consecutive Winograd points in V, U and M.
  std::int64_t v_plane() const { return plane_stride(tiles() * ic); }
  std::int64_t u_plane() const { return plane_stride(ic * oc); }
  std::int64_t m_plane() const { return plane_stride(tiles() * oc); }

  // A plane's floats plus 64 bytes. Planes a multiple of 4 KB apart (for 32 images, V's are
  // 100 KB) made the 16 streams of a transform alias in the core's 4 KB-indexed store
  // forwarding: the weight transform took 115 µs instead of 20.
  static std::int64_t plane_stride(std::int64_t floats) { return floats + 16; }
};

// V[p][t][c] = (B^T d B)[p] for the 4x4 input tile d of tile t, channel c, where
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. Channels in blocks of kLanes.
FMNIST_VECTOR_CLONES void transform_input_tile(const TileShape& s, const float* in,
                                               std::int64_t tile, float* v) {
  std::int64_t image = tile / (s.out_h * s.out_w), rest = tile % (s.out_h * s.out_w);
  const float* corner =
      in + ((image * s.in_h + 2 * (rest / s.out_w)) * s.in_w + 2 * (rest % s.out_w)) * s.ic;
  const std::int64_t plane = s.v_plane();
  for (std::int64_t c = 0; c < s.ic; c += kLanes) {
    Lanes d[kTile][kTile], t[kTile][kTile];
    for (std::int64_t r = 0; r < kTile; ++r) {
      for (std::int64_t col = 0; col < kTile; ++col) {
        load_lanes(d[r][col], corner + (r * s.in_w + col) * s.ic + c);
      }
    }
    for (std::int64_t col = 0; col < kTile; ++col) {  // t = B^T d
      t[0][col] = d[0][col] - d[2][col];
      t[1][col] = d[1][col] + d[2][col];
      t[2][col] = d[2][col] - d[1][col];
      t[3][col] = d[1][col] - d[3][col];
    }
    float* out = v + tile * s.ic + c;
    for (std::int64_t r = 0; r < kTile; ++r) {  // V = t B
      Lanes point[kTile] = {t[r][0] - t[r][2], t[r][1] + t[r][2], t[r][2] - t[r][1],
                            t[r][1] - t[r][3]};
      for (std::int64_t col = 0; col < kTile; ++col)
        store_lanes(out + (r * kTile + col) * plane, point[col]);
    }
  }
}

// The 2x2 output tile Y = A^T m A, where A^T = [1 1 1 0; 0 1 -1 -1], plus bias, then
// relu(max(Y)) into the pooled output. Channels in blocks of kLanes. (Adding the bias before
// the max gives the same floats as after it: rounding is monotone.)
FMNIST_VECTOR_CLONES void transform_output_tile(const TileShape& s, const float* m,
                                                const float* bias, std::int64_t tile, float* out) {
  const std::int64_t plane = s.m_plane();
  const float* from = m + tile * s.oc;
  for (std::int64_t c = 0; c < s.oc; c += kLanes) {
    Lanes r[2][kTile];
    for (std::int64_t col = 0; col < kTile; ++col) {
      Lanes point[kTile];
      for (std::int64_t row = 0; row < kTile; ++row) {
        load_lanes(point[row], from + (row * kTile + col) * plane + c);
      }
      r[0][col] = point[0] + point[1] + point[2];
      r[1][col] = point[1] - point[2] - point[3];
    }
    Lanes y[kWindow];
    for (std::int64_t a = 0; a < 2; ++a) {
      y[2 * a] = r[a][0] + r[a][1] + r[a][2];
      y[2 * a + 1] = r[a][1] - r[a][2] - r[a][3];
    }
    Lanes b;
    load_lanes(b, bias + c);
    for (Lanes& output : y) output += b;
    pool_lanes(y, out + tile * s.oc + c, /*winner=*/nullptr);
  }
}

// t = G g for the rows (or, applied to columns, g G^T) of a 3x3 filter, where
// G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
template <typename Get>
void transform_filter_lines(Get g, float (&t)[kTile]) {
  t[0] = g(0);
  t[1] = (g(0) + g(1) + g(2)) / 2;
  t[2] = (g(0) - g(1) + g(2)) / 2;
  t[3] = g(2);
}

// The multiplication in the Winograd domain, for one point p: m[t][o] = sum over i of
// v[t][i] * u[i][o], in blocks of kRowBlock tiles x kColumnVectors vectors of output channels
// whose sums stay in registers (12 of AVX2's 16). LibTorch's bmm (OpenBLAS) took 1,035 µs for
// the 16 points of 32 images, this 750 µs.
constexpr int kRowBlock = 6;
constexpr int kColumnVectors = 2;
static_assert(kColumnVectors * kLanes == kWinogradChannels);

template <int kRows>
[[gnu::always_inline]] inline void multiply_block(const float* v, std::int64_t ic, const float* u,
                                                  std::int64_t oc, float* m) {
  Lanes sum[kRows][kColumnVectors] = {};
  for (std::int64_t i = 0; i < ic; ++i) {
    Lanes row[kColumnVectors];
    for (int c = 0; c < kColumnVectors; ++c) load_lanes(row[c], u + i * oc + c * kLanes);
    for (int r = 0; r < kRows; ++r) {
      const float input = v[r * ic + i];
      for (int c = 0; c < kColumnVectors; ++c) sum[r][c] += row[c] * input;
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int c = 0; c < kColumnVectors; ++c) store_lanes(m + r * oc + c * kLanes, sum[r][c]);
  }
}

FMNIST_VECTOR_CLONES void multiply_point(const TileShape& s, const float* v, const float* u,
                                         float* m) {
  for (std::int64_t o = 0; o < s.oc; o += kColumnVectors * kLanes) {
    std::int64_t t = 0;
    for (; t + kRowBlock <= s.tiles(); t += kRowBlock) {
      multiply_block<kRowBlock>(v + t * s.ic, s.ic, u + o, s.oc, m + t * s.oc + o);
    }
    for (; t < s.tiles(); ++t) multiply_block<1>(v + t * s.ic, s.ic, u + o, s.oc, m + t * s.oc + o);
  }
}

// U[p][i][o] = (G g G^T)[p] for the 3x3 filter g of output o, input i, read in the weight's
// own strides (channels-last in the model). Output channels innermost, so that each point's
// row is written in order: with them outermost, the writes 8 KB apart took 90 µs a call.
torch::Tensor transform_weight(const TileShape& s, const torch::Tensor& weight) {
  const std::int64_t oc = s.oc, ic = s.ic;
  auto g = weight.accessor<float, 4>();
  torch::Tensor u = torch::empty({kTilePoints * s.u_plane()});
  float* u_data = u.data_ptr<float>();
  for (std::int64_t i = 0; i < ic; ++i) {
    for (std::int64_t o = 0; o < oc; ++o) {
      float rows[kTile][3];  // G g
      for (int col = 0; col < 3; ++col) {
        float t[kTile];
        transform_filter_lines([&](int r) { return g[o][i][r][col]; }, t);
        for (int r = 0; r < kTile; ++r) rows[r][col] = t[r];
      }
      for (int r = 0; r < kTile; ++r) {  // (G g) G^T
        float t[kTile];
        transform_filter_lines([&](int col) { return rows[r][col]; }, t);
        for (int col = 0; col < kTile; ++col) {
          u_data[(r * kTile + col) * s.u_plane() + i * oc + o] = t[col];
        }
      }
    }
  }
  return u;
}

// Calls whose V and M planes fit in this many floats (one image's: 38,912) take them from a
// buffer each thread keeps: a new tensor every call (malloc, and memory the caches had not
// seen) took 3 µs more of a served image's 31.
constexpr std::int64_t kKeptScratchFloats = std::int64_t{1} << 16;

// Room for `floats` floats, alive until the next call on this thread or, for more than
// kKeptScratchFloats, while `owner` holds it.
float* scratch(std::int64_t floats, torch::Tensor& owner) {
  thread_local torch::Tensor kept;
  if (floats > kKeptScratchFloats) {
    owner = torch::empty({floats});
    return owner.data_ptr<float>();
  }
  if (!kept.defined()) kept = torch::empty({kKeptScratchFloats});
  return kept.data_ptr<float>();
}

// Whether count floats (a multiple of kLanes) hold a NaN. LibTorch's isnan().any().item() took
// 5 µs of a one-image forward pass.
FMNIST_VECTOR_CLONES bool any_nan(const float* data, std::int64_t count) {
  using Mask = std::int32_t __attribute__((vector_size(kLanes * sizeof(std::int32_t))));
  Mask seen = {};
  for (std::int64_t i = 0; i < count; i += kLanes) {
    Lanes value;
    load_lanes(value, data + i);
    seen |= value != value;
  }
  for (std::int64_t lane = 0; lane < kLanes; ++lane) {
    if (seen[lane]) return true;
  }
  return false;
}

}  // namespace

torch::Tensor winograd_conv_max_pool2x2_relu(const torch::Tensor& x, const torch::Tensor& weight,
                                             const torch::Tensor& bias) {
  TileShape s{x.size(0), x.size(1),           weight.size(0),     x.size(2),
              x.size(3), (x.size(2) - 2) / 2, (x.size(3) - 2) / 2};
  TORCH_CHECK(s.ic % kWinogradChannels == 0 && s.oc % kWinogradChannels == 0,
              "channels not a multiple of ", kWinogradChannels);
  TORCH_CHECK(weight.dim() == 4 && weight.size(1) == s.ic && weight.size(2) == 3 &&
                  weight.size(3) == 3 && bias.numel() == s.oc && s.in_h >= kTile && s.in_w >= kTile,
              "winograd_conv_max_pool2x2_relu: shapes do not match");
  torch::Tensor input = x.contiguous(torch::MemoryFormat::ChannelsLast);
  torch::Tensor owner;
  float* v_data = scratch(kTilePoints * (s.v_plane() + s.m_plane()), owner);
  float* m_data = v_data + kTilePoints * s.v_plane();
  const float* in = input.data_ptr<float>();
  at::parallel_for(0, s.tiles(), /*grain_size=*/16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t tile = begin; tile < end; ++tile) transform_input_tile(s, in, tile, v_data);
  });
  torch::Tensor u = prepared_weight(weight, WeightForm::kWinograd, /*layout=*/0,
                                    [&] { return transform_weight(s, weight); });
  const float* u_data = u.data_ptr<float>();
  at::parallel_for(0, kTilePoints, /*grain_size=*/1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t p = begin; p < end; ++p) {
      multiply_point(s, v_data + p * s.v_plane(), u_data + p * s.u_plane(),
                     m_data + p * s.m_plane());
    }
  });
  torch::Tensor out = empty_channels_last(s.n, s.oc, s.out_h, s.out_w, torch::kFloat);
  const torch::Tensor biases = bias.contiguous();  // alive while the transform reads it
  const float* bias_data = biases.data_ptr<float>();
  float* out_data = out.data_ptr<float>();
  at::parallel_for(0, s.tiles(), /*grain_size=*/16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t tile = begin; tile < end; ++tile) {
      transform_output_tile(s, m_data, bias_data, tile, out_data);
    }
  });
  return any_nan(out_data, out.numel()) ? torch::Tensor() : out;
}

}  // namespace fmnist::detail
