#include "fmnist/kernels/avg_pool.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "pool_window.hpp"

namespace fmnist {
namespace {

using detail::empty_channels_last;

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Shapes of one NHWC pooling: input [n, in_h, in_w, c] in memory, output [n, out_h, out_w, c].
struct AvgPoolShape {
  std::int64_t n, c, in_h, in_w, out_h, out_w;

  AvgPoolShape(std::int64_t n, std::int64_t c, std::int64_t in_h, std::int64_t in_w)
      : n(n), c(c), in_h(in_h), in_w(in_w), out_h((in_h + 1) / 2), out_w((in_w + 1) / 2) {}

  std::int64_t input_offset(std::int64_t image, std::int64_t row, std::int64_t col) const {
    return ((image * in_h + row) * in_w + col) * c;
  }

  // The number of input pixels under output (oh, ow): 4, or fewer at an odd edge.
  std::int64_t window_pixels(std::int64_t oh, std::int64_t ow) const {
    return (std::min(2 * oh + 2, in_h) - 2 * oh) * (std::min(2 * ow + 2, in_w) - 2 * ow);
  }
};

// out = the mean of the window's pixels per channel, summed in avg_pool2d's order (row by row)
// and divided, as it does, so that the results are equal bit for bit.
FMNIST_VECTOR_CLONES void average_row(const AvgPoolShape& s, std::int64_t row, const float* in,
                                      float* out) {
  std::int64_t image = row / s.out_h, oh = row % s.out_h;
  std::int64_t last_row = std::min(2 * oh + 1, s.in_h - 1);
  for (std::int64_t ow = 0; ow < s.out_w; ++ow) {
    float* __restrict dst = out + (row * s.out_w + ow) * s.c;
    std::int64_t last_col = std::min(2 * ow + 1, s.in_w - 1);
    std::fill(dst, dst + s.c, 0.0f);
    for (std::int64_t ih = 2 * oh; ih <= last_row; ++ih) {
      for (std::int64_t iw = 2 * ow; iw <= last_col; ++iw) {
        const float* __restrict src = in + s.input_offset(image, ih, iw);
        for (std::int64_t ch = 0; ch < s.c; ++ch) dst[ch] += src[ch];
      }
    }
    const auto pixels = static_cast<float>(s.window_pixels(oh, ow));
    for (std::int64_t ch = 0; ch < s.c; ++ch) dst[ch] /= pixels;
  }
}

// One input row's gradient: each pixel gets its window's output gradient over the window's
// pixel count (windows do not overlap).
FMNIST_VECTOR_CLONES void spread_row(const AvgPoolShape& s, std::int64_t row, const float* grad_out,
                                     float* grad_in) {
  std::int64_t image = row / s.in_h, ih = row % s.in_h, oh = ih / 2;
  float* __restrict dst = grad_in + s.input_offset(image, ih, 0);
  for (std::int64_t iw = 0; iw < s.in_w; ++iw, dst += s.c) {
    std::int64_t ow = iw / 2;
    const float* __restrict src = grad_out + ((image * s.out_h + oh) * s.out_w + ow) * s.c;
    const auto pixels = static_cast<float>(s.window_pixels(oh, ow));
    for (std::int64_t ch = 0; ch < s.c; ++ch) dst[ch] = src[ch] / pixels;
  }
}

class AvgPool2x2Ceil : public torch::autograd::Function<AvgPool2x2Ceil> {
 public:
  static torch::Tensor forward(AutogradContext* context, const torch::Tensor& x) {
    AvgPoolShape s(x.size(0), x.size(1), x.size(2), x.size(3));
    torch::Tensor out = empty_channels_last(s.n, s.c, s.out_h, s.out_w, torch::kFloat);
    const float* in = x.data_ptr<float>();
    float* dst = out.data_ptr<float>();
    at::parallel_for(0, s.n * s.out_h, /*grain_size=*/8, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t row = begin; row < end; ++row) average_row(s, row, in, dst);
    });
    context->saved_data["in_h"] = s.in_h;
    context->saved_data["in_w"] = s.in_w;
    return out;
  }

  static tensor_list backward(AutogradContext* context, tensor_list grad_outputs) {
    torch::Tensor grad_out = grad_outputs[0].contiguous(torch::MemoryFormat::ChannelsLast);
    AvgPoolShape s(grad_out.size(0), grad_out.size(1), context->saved_data["in_h"].toInt(),
                   context->saved_data["in_w"].toInt());
    torch::Tensor grad_in = empty_channels_last(s.n, s.c, s.in_h, s.in_w, torch::kFloat);
    const float* src = grad_out.data_ptr<float>();
    float* dst = grad_in.data_ptr<float>();
    at::parallel_for(0, s.n * s.in_h, /*grain_size=*/8, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t row = begin; row < end; ++row) spread_row(s, row, src, dst);
    });
    return {grad_in};
  }
};

}  // namespace

torch::Tensor avg_pool2x2_ceil(const torch::Tensor& x) {
  if (!detail::is_cpu_float_channels_last(x)) {
    return torch::avg_pool2d(x, /*kernel_size=*/2, /*stride=*/2, /*padding=*/0,
                             /*ceil_mode=*/true);
  }
  return AvgPool2x2Ceil::apply(x);
}

}  // namespace fmnist
