#include "fmnist/kernels/pool_relu.hpp"

#include <ATen/Parallel.h>

#include <cstdint>
#include <utility>

#include "pool_window.hpp"

namespace fmnist {
namespace {

using detail::empty_channels_last;
using detail::kWindow;
using detail::pool_window;
using detail::pool_window_values;
using detail::route_gradient;

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Shapes of one NHWC pooling: the input is [n, in_h, in_w, c] in memory, the output
// [n, out_h, out_w, c]; odd trailing rows and columns take no part, as in max_pool2d.
struct PoolShape {
  std::int64_t n, c, in_h, in_w, out_h, out_w;

  PoolShape(std::int64_t n, std::int64_t c, std::int64_t in_h, std::int64_t in_w)
      : n(n), c(c), in_h(in_h), in_w(in_w), out_h(in_h / 2), out_w(in_w / 2) {}

  // Offset of input element (row, col, channel 0) of image `image`.
  std::int64_t input_offset(std::int64_t image, std::int64_t row, std::int64_t col) const {
    return ((image * in_h + row) * in_w + col) * c;
  }
};

// One row of pooled outputs, all channels; `winner` may be null (no gradient will be asked for).
FMNIST_VECTOR_CLONES void pool_row(const PoolShape& s, std::int64_t row, const float* in,
                                   float* out, std::uint8_t* winner) {
  std::int64_t image = row / s.out_h, oh = row % s.out_h;
  for (std::int64_t ow = 0; ow < s.out_w; ++ow) {
    std::int64_t base = (row * s.out_w + ow) * s.c;
    const float* a = in + s.input_offset(image, 2 * oh, 2 * ow);
    const float* b = in + s.input_offset(image, 2 * oh, 2 * ow + 1);
    const float* c = in + s.input_offset(image, 2 * oh + 1, 2 * ow);
    const float* d = in + s.input_offset(image, 2 * oh + 1, 2 * ow + 1);
    if (winner) {
      pool_window(a, b, c, d, out + base, winner + base, s.c);
    } else {
      pool_window_values(a, b, c, d, out + base, s.c);
    }
  }
}

// One row of input gradients, all channels; writes every element exactly once, so no
// separate zero fill is needed.
FMNIST_VECTOR_CLONES void route_row(const PoolShape& s, std::int64_t row, const float* grad_out,
                                    const std::uint8_t* winner, float* grad_in) {
  std::int64_t image = row / s.in_h, ih = row % s.in_h, oh = ih / 2;
  float* dst = grad_in + s.input_offset(image, ih, 0);
  if (oh >= s.out_h) {
    std::fill(dst, dst + s.in_w * s.c, 0.0f);
    return;
  }
  for (std::int64_t iw = 0; iw < s.in_w; ++iw, dst += s.c) {
    std::int64_t ow = iw / 2;
    if (ow >= s.out_w) {
      std::fill(dst, dst + s.c, 0.0f);
      continue;
    }
    auto k = static_cast<std::uint8_t>((ih % 2) * 2 + iw % 2);
    std::int64_t base = ((image * s.out_h + oh) * s.out_w + ow) * s.c;
    route_gradient(grad_out + base, winner + base, k, dst, s.c);
  }
}

// The pooled output of x, and the winner bytes when `with_winner`.
std::pair<torch::Tensor, torch::Tensor> pool_forward(const torch::Tensor& x, bool with_winner) {
  PoolShape s(x.size(0), x.size(1), x.size(2), x.size(3));
  torch::Tensor out = empty_channels_last(s.n, s.c, s.out_h, s.out_w, torch::kFloat);
  torch::Tensor winner;
  if (with_winner) winner = empty_channels_last(s.n, s.c, s.out_h, s.out_w, torch::kUInt8);
  const float* in = x.data_ptr<float>();
  float* out_data = out.data_ptr<float>();
  std::uint8_t* winner_data = with_winner ? winner.data_ptr<std::uint8_t>() : nullptr;
  at::parallel_for(0, s.n * s.out_h, /*grain_size=*/1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) pool_row(s, row, in, out_data, winner_data);
  });
  return {out, winner};
}

void pool_backward(const PoolShape& s, const float* grad_out, const std::uint8_t* winner,
                   float* grad_in) {
  at::parallel_for(0, s.n * s.in_h, /*grain_size=*/1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) route_row(s, row, grad_out, winner, grad_in);
  });
}

class MaxPool2x2Relu : public torch::autograd::Function<MaxPool2x2Relu> {
 public:
  static torch::Tensor forward(AutogradContext* context, const torch::Tensor& x) {
    auto [out, winner] = pool_forward(x, /*with_winner=*/true);
    context->save_for_backward({winner});
    context->saved_data["in_h"] = x.size(2);
    context->saved_data["in_w"] = x.size(3);
    return out;
  }

  static tensor_list backward(AutogradContext* context, tensor_list grad_outputs) {
    torch::Tensor winner = context->get_saved_variables()[0];
    torch::Tensor grad_out = grad_outputs[0].contiguous(torch::MemoryFormat::ChannelsLast);
    PoolShape s(winner.size(0), winner.size(1), context->saved_data["in_h"].toInt(),
                context->saved_data["in_w"].toInt());
    torch::Tensor grad_in = empty_channels_last(s.n, s.c, s.in_h, s.in_w, torch::kFloat);
    pool_backward(s, grad_out.data_ptr<float>(), winner.data_ptr<std::uint8_t>(),
                  grad_in.data_ptr<float>());
    return {grad_in};
  }
};

}  // namespace

torch::Tensor max_pool2x2_relu(const torch::Tensor& x) {
  if (!detail::is_cpu_float_channels_last(x))
    return torch::max_pool2d(x, /*kernel_size=*/2).relu_();
  if (torch::GradMode::is_enabled() && x.requires_grad()) return MaxPool2x2Relu::apply(x);
  // Nothing will ask for a gradient (evaluation, inference): no winner bytes, no autograd node.
  return pool_forward(x, /*with_winner=*/false).first;
}

}  // namespace fmnist
