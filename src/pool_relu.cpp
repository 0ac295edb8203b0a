#include "fmnist/pool_relu.hpp"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>

namespace fmnist {
namespace {

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

// The four window positions in the order max_pool2d scans them, so ties go the same way.
constexpr std::int64_t kWindow = 4;

void pool_forward(const PoolShape& s, const float* in, float* out, std::uint8_t* winner) {
  at::parallel_for(0, s.n * s.out_h, /*grain_size=*/1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      std::int64_t image = row / s.out_h, oh = row % s.out_h;
      for (std::int64_t ow = 0; ow < s.out_w; ++ow) {
        const float* window[kWindow] = {in + s.input_offset(image, 2 * oh, 2 * ow),
                                        in + s.input_offset(image, 2 * oh, 2 * ow + 1),
                                        in + s.input_offset(image, 2 * oh + 1, 2 * ow),
                                        in + s.input_offset(image, 2 * oh + 1, 2 * ow + 1)};
        std::int64_t base = (row * s.out_w + ow) * s.c;
        for (std::int64_t ch = 0; ch < s.c; ++ch) {
          float best = window[0][ch];
          std::uint8_t best_k = 0;
          for (std::uint8_t k = 1; k < kWindow; ++k) {
            float v = window[k][ch];
            if (v > best || std::isnan(v)) {
              best = v;
              best_k = k;
            }
          }
          // std::max would turn NaN into 0; ReLU in LibTorch keeps it.
          out[base + ch] = best > 0 || std::isnan(best) ? best : 0.0f;
          winner[base + ch] = best > 0 ? best_k : kWindow;  // kWindow: no gradient flows
        }
      }
    }
  });
}

// Writes every input gradient element exactly once, so no separate zero fill is needed.
void pool_backward(const PoolShape& s, const float* grad_out, const std::uint8_t* winner,
                   float* grad_in) {
  at::parallel_for(0, s.n * s.in_h, /*grain_size=*/1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      std::int64_t image = row / s.in_h, ih = row % s.in_h, oh = ih / 2;
      float* dst = grad_in + s.input_offset(image, ih, 0);
      if (oh >= s.out_h) {
        std::fill(dst, dst + s.in_w * s.c, 0.0f);
        continue;
      }
      for (std::int64_t iw = 0; iw < s.in_w; ++iw, dst += s.c) {
        std::int64_t ow = iw / 2;
        if (ow >= s.out_w) {
          std::fill(dst, dst + s.c, 0.0f);
          continue;
        }
        std::uint8_t k = static_cast<std::uint8_t>((ih % 2) * 2 + iw % 2);
        std::int64_t base = ((image * s.out_h + oh) * s.out_w + ow) * s.c;
        for (std::int64_t ch = 0; ch < s.c; ++ch) {
          dst[ch] = winner[base + ch] == k ? grad_out[base + ch] : 0.0f;
        }
      }
    }
  });
}

torch::Tensor empty_channels_last(const PoolShape& s, std::int64_t h, std::int64_t w,
                                  torch::ScalarType type) {
  return torch::empty({s.n, s.c, h, w},
                      torch::TensorOptions(type).memory_format(torch::MemoryFormat::ChannelsLast));
}

class MaxPool2x2Relu : public torch::autograd::Function<MaxPool2x2Relu> {
 public:
  static torch::Tensor forward(AutogradContext* context, const torch::Tensor& x) {
    PoolShape s(x.size(0), x.size(1), x.size(2), x.size(3));
    torch::Tensor out = empty_channels_last(s, s.out_h, s.out_w, torch::kFloat);
    torch::Tensor winner = empty_channels_last(s, s.out_h, s.out_w, torch::kUInt8);
    pool_forward(s, x.data_ptr<float>(), out.data_ptr<float>(), winner.data_ptr<std::uint8_t>());
    context->save_for_backward({winner});
    context->saved_data["in_h"] = s.in_h;
    context->saved_data["in_w"] = s.in_w;
    return out;
  }

  static tensor_list backward(AutogradContext* context, tensor_list grad_outputs) {
    torch::Tensor winner = context->get_saved_variables()[0];
    torch::Tensor grad_out = grad_outputs[0].contiguous(torch::MemoryFormat::ChannelsLast);
    PoolShape s(winner.size(0), winner.size(1), context->saved_data["in_h"].toInt(),
                context->saved_data["in_w"].toInt());
    torch::Tensor grad_in = empty_channels_last(s, s.in_h, s.in_w, torch::kFloat);
    pool_backward(s, grad_out.data_ptr<float>(), winner.data_ptr<std::uint8_t>(),
                  grad_in.data_ptr<float>());
    return {grad_in};
  }
};

bool takes_fused_kernel(const torch::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat && x.dim() == 4 &&
         x.is_contiguous(torch::MemoryFormat::ChannelsLast) && !x.is_mkldnn();
}

}  // namespace

torch::Tensor max_pool2x2_relu(const torch::Tensor& x) {
  if (!takes_fused_kernel(x)) return torch::max_pool2d(x, /*kernel_size=*/2).relu_();
  return MaxPool2x2Relu::apply(x);
}

}  // namespace fmnist
