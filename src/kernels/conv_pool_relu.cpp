#include "fmnist/kernels/conv_pool_relu.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "fmnist/kernels/pool_relu.hpp"
#include "fmnist/kernels/prepared_weights.hpp"
#include "pool_window.hpp"
#include "winograd.hpp"

namespace fmnist {
namespace {

using detail::kLanes;
using detail::kWindow;
using detail::Lanes;
using detail::load_lanes;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

constexpr std::int64_t kKernel = 3;
constexpr std::int64_t kTaps = kKernel * kKernel;
constexpr std::int64_t kPatch = kKernel + 1;  // a 2x2 window of 3x3 convolutions reads 4x4
// The backward pass sums weight gradients over fixed groups of images, then the groups in
// order, so that the result does not depend on the thread count.
constexpr std::int64_t kImagesPerGroup = 16;

// Shapes of one fused call: n single-channel in_h x in_w images, c output channels; the pooled
// output is [n, out_h, out_w, c] in memory.
struct ConvPoolShape {
  std::int64_t n, c, in_h, in_w, out_h, out_w;

  ConvPoolShape(std::int64_t n, std::int64_t c, std::int64_t in_h, std::int64_t in_w)
      : n(n), c(c), in_h(in_h), in_w(in_w), out_h((in_h - 2) / 2), out_w((in_w - 2) / 2) {}

  std::int64_t output_offset(std::int64_t image, std::int64_t oh, std::int64_t ow) const {
    return ((image * out_h + oh) * out_w + ow) * c;
  }

  // The top-left corner of the 4x4 input patch that pooled output (oh, ow) reads.
  const float* patch(const float* in, std::int64_t image, std::int64_t oh, std::int64_t ow) const {
    return in + (image * in_h + 2 * oh) * in_w + 2 * ow;
  }
};

// The 3x3 input taps of window position k (0..3, scan order) of the window whose 4x4 input
// patch starts at `patch` (row stride `width`).
struct Taps {
  float value[kTaps];

  Taps(const float* patch, std::int64_t width, int k) {
    const float* corner = patch + (k / 2) * width + k % 2;
    for (std::int64_t tap = 0; tap < kTaps; ++tap) {
      value[tap] = corner[(tap / kKernel) * width + tap % kKernel];
    }
  }
};

// The input of window position k's tap.
[[gnu::always_inline]] inline float tap_input(const float* patch, std::int64_t width, int k,
                                              std::int64_t tap) {
  return patch[(k / 2 + tap / kKernel) * width + k % 2 + tap % kKernel];
}

// The pooled outputs of one output row for kLanes channels, one vector per window position,
// with the nine weight vectors held in registers along the row. With a loop over channels per
// window, GCC kept the sums in memory, and the layer took 480 µs for 32 images against 220-240
// µs now (AVX2). `rows` is the row's input (its top-left 4x4 patch); `weight`, `bias`, `out`
// and `winner` (may be null: no gradient will be asked for) start at the vector's first
// channel. Each sum runs in the order of LibTorch's reference: bias first, then taps in scan
// order.
FMNIST_VECTOR_CLONES void forward_row_block(const ConvPoolShape& s, const float* rows,
                                            const float* weight, const float* bias, float* out,
                                            std::uint8_t* winner) {
  Lanes taps[kTaps];
#pragma GCC unroll 9
  for (std::int64_t tap = 0; tap < kTaps; ++tap) load_lanes(taps[tap], weight + tap * s.c);
  Lanes first;
  load_lanes(first, bias);
  for (std::int64_t ow = 0; ow < s.out_w; ++ow) {
    const float* patch = rows + 2 * ow;
    Lanes conv[kWindow] = {first, first, first, first};
#pragma GCC unroll 9  // the weights stay in registers only if every tap's index is a constant
    for (std::int64_t tap = 0; tap < kTaps; ++tap) {
      for (int k = 0; k < kWindow; ++k) conv[k] += taps[tap] * tap_input(patch, s.in_w, k, tap);
    }
    detail::pool_lanes(conv, out + ow * s.c, winner ? winner + ow * s.c : nullptr);
  }
}

// The same for one channel, for channel counts that are not a multiple of kLanes.
void forward_row_channel(const ConvPoolShape& s, const float* rows, const float* weight,
                         const float* bias, float* out, std::uint8_t* winner) {
  for (std::int64_t ow = 0; ow < s.out_w; ++ow) {
    float conv[kWindow];
    for (int k = 0; k < kWindow; ++k) {
      conv[k] = *bias;
      for (std::int64_t tap = 0; tap < kTaps; ++tap) {
        conv[k] += weight[tap * s.c] * tap_input(rows + 2 * ow, s.in_w, k, tap);
      }
    }
    detail::WindowMax max = detail::window_max_relu(conv[0], conv[1], conv[2], conv[3]);
    out[ow * s.c] = max.value;
    if (winner) winner[ow * s.c] = max.winner;
  }
}

// weight_grad[tap][oc] += grad[oc] * taps[tap]; bias_grad[oc] += grad[oc].
inline void accumulate(const Taps taps, const float* __restrict grad, float* __restrict weight_grad,
                       float* __restrict bias_grad, std::int64_t channels) {
  for (std::int64_t oc = 0; oc < channels; ++oc) bias_grad[oc] += grad[oc];
  for (std::int64_t tap = 0; tap < kTaps; ++tap) {
    float* __restrict row = weight_grad + tap * channels;
    for (std::int64_t oc = 0; oc < channels; ++oc) row[oc] += grad[oc] * taps.value[tap];
  }
}

// Adds one pooled output's share to the gradients. `scratch` holds `channels` floats.
FMNIST_VECTOR_CLONES void backward_window(const float* patch, std::int64_t width,
                                          const float* grad_out, const std::uint8_t* winner,
                                          float* scratch, float* weight_grad, float* bias_grad,
                                          std::int64_t channels) {
  for (int k = 0; k < kWindow; ++k) {
    detail::route_gradient(grad_out, winner, static_cast<std::uint8_t>(k), scratch, channels);
    accumulate(Taps(patch, width, k), scratch, weight_grad, bias_grad, channels);
  }
}

// `weight` is [tap][oc] (kTaps x c); `winner` may be null.
void fused_forward(const ConvPoolShape& s, const float* in, const float* weight, const float* bias,
                   float* out, std::uint8_t* winner) {
  at::parallel_for(0, s.n * s.out_h, /*grain_size=*/1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      std::int64_t image = row / s.out_h, oh = row % s.out_h;
      const float* rows = s.patch(in, image, oh, /*ow=*/0);
      std::int64_t base = s.output_offset(image, oh, /*ow=*/0);
      std::int64_t first = 0;
      for (; first + kLanes <= s.c; first += kLanes) {
        forward_row_block(s, rows, weight + first, bias + first, out + base + first,
                          winner ? winner + base + first : nullptr);
      }
      for (; first < s.c; ++first) {
        forward_row_channel(s, rows, weight + first, bias + first, out + base + first,
                            winner ? winner + base + first : nullptr);
      }
    }
  });
}

// The pooled output, and the winner bytes when `with_winner`.
std::pair<torch::Tensor, torch::Tensor> conv_pool_forward(const torch::Tensor& images,
                                                          const torch::Tensor& weight,
                                                          const torch::Tensor& bias,
                                                          bool with_winner) {
  ConvPoolShape s(images.size(0), weight.size(0), images.size(2), images.size(3));
  torch::Tensor out = detail::empty_channels_last(s.n, s.c, s.out_h, s.out_w, torch::kFloat);
  torch::Tensor winner;
  if (with_winner) winner = detail::empty_channels_last(s.n, s.c, s.out_h, s.out_w, torch::kUInt8);
  torch::Tensor weight_by_tap =
      detail::prepared_weight(weight, WeightForm::kTapMajor, /*layout=*/0, [&] {
        return weight.reshape({s.c, kTaps}).t().contiguous();
      });
  fused_forward(s, images.data_ptr<float>(), weight_by_tap.data_ptr<float>(),
                bias.contiguous().data_ptr<float>(), out.data_ptr<float>(),
                with_winner ? winner.data_ptr<std::uint8_t>() : nullptr);
  return {out, winner};
}

// Returns the weight gradient as [tap][oc] (kTaps x c) followed by the bias gradient (c).
std::vector<float> fused_backward(const ConvPoolShape& s, const float* in, const float* grad_out,
                                  const std::uint8_t* winner) {
  const std::int64_t sums = (kTaps + 1) * s.c;
  const std::int64_t groups = (s.n + kImagesPerGroup - 1) / kImagesPerGroup;
  std::vector<float> partial(groups * sums, 0.0f);
  at::parallel_for(0, groups, /*grain_size=*/1, [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> scratch(s.c);
    for (std::int64_t group = begin; group < end; ++group) {
      float* weight_grad = &partial[group * sums];
      float* bias_grad = weight_grad + kTaps * s.c;
      std::int64_t last = std::min(s.n, (group + 1) * kImagesPerGroup);
      for (std::int64_t image = group * kImagesPerGroup; image < last; ++image) {
        for (std::int64_t oh = 0; oh < s.out_h; ++oh) {
          for (std::int64_t ow = 0; ow < s.out_w; ++ow) {
            std::int64_t base = s.output_offset(image, oh, ow);
            backward_window(s.patch(in, image, oh, ow), s.in_w, grad_out + base, winner + base,
                            scratch.data(), weight_grad, bias_grad, s.c);
          }
        }
      }
    }
  });
  std::vector<float> total(sums, 0.0f);
  for (std::int64_t group = 0; group < groups; ++group) {
    for (std::int64_t i = 0; i < sums; ++i) total[i] += partial[group * sums + i];
  }
  return total;
}

class ConvMaxPool2x2Relu : public torch::autograd::Function<ConvMaxPool2x2Relu> {
 public:
  static torch::Tensor forward(AutogradContext* context, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias) {
    torch::Tensor images = x.contiguous();
    auto [out, winner] = conv_pool_forward(images, weight, bias, /*with_winner=*/true);
    context->save_for_backward({images, winner, weight});
    return out;
  }

  static tensor_list backward(AutogradContext* context, tensor_list grad_outputs) {
    torch::autograd::variable_list saved = context->get_saved_variables();
    const torch::Tensor& images = saved[0];
    const torch::Tensor& winner = saved[1];
    const torch::Tensor& weight = saved[2];
    torch::Tensor grad_out = grad_outputs[0].contiguous(torch::MemoryFormat::ChannelsLast);
    ConvPoolShape s(images.size(0), winner.size(1), images.size(2), images.size(3));
    std::vector<float> sums = fused_backward(
        s, images.data_ptr<float>(), grad_out.data_ptr<float>(), winner.data_ptr<std::uint8_t>());
    torch::Tensor all = torch::from_blob(sums.data(), {kTaps + 1, s.c}).clone();
    // Returned in the weight's own strides (channels-last after use_channels_last), so that the
    // optimizer's one-pass update need not copy it into the parameter's layout every step.
    // With one input channel both layouts keep each filter's 9 taps contiguous, in one order.
    torch::Tensor weight_grad = all.slice(/*dim=*/0, 0, kTaps)
                                    .t()
                                    .contiguous()
                                    .as_strided(weight.sizes(), weight.strides());
    torch::Tensor bias_grad = all[kTaps].contiguous();
    return {torch::Tensor(), weight_grad, bias_grad};
  }
};

// Padding is a variant (std:: in LibTorch 2, c10:: in 1.13); the unqualified visit finds
// whichever by argument-dependent lookup.
bool unpadded(const torch::nn::detail::ConvNdOptions<2>& options) {
  return visit(
      [](const auto& padding) {
        using Padding = std::decay_t<decltype(padding)>;
        if constexpr (std::is_same_v<Padding, torch::ExpandingArray<2>>) {
          return (*padding)[0] == 0 && (*padding)[1] == 0;
        } else {
          return std::is_same_v<Padding, torch::enumtype::kValid>;
        }
      },
      options.padding());
}

bool is_3x3_stride_1_unpadded(const torch::nn::Conv2dImpl& conv) {
  const auto& o = conv.options;
  auto ones = [](const torch::ExpandingArray<2>& a) { return (*a)[0] == 1 && (*a)[1] == 1; };
  return (*o.kernel_size())[0] == kKernel && (*o.kernel_size())[1] == kKernel && ones(o.stride()) &&
         ones(o.dilation()) && o.groups() == 1 && unpadded(o) && conv.bias.defined();
}

// A 3x3 stride-1 unpadded convolution with bias of a CPU float batch at least a window's patch
// in size: what either fused kernel computes.
bool takes_fused_kernel(const torch::Tensor& x, const torch::nn::Conv2dImpl& conv) {
  return detail::is_cpu_float(x) && detail::is_cpu_float(conv.weight) && x.dim() == 4 &&
         x.size(2) >= kPatch && x.size(3) >= kPatch && is_3x3_stride_1_unpadded(conv);
}

// The direct kernel's case: one input channel, and no gradient for the input.
bool takes_direct_kernel(const torch::Tensor& x, const torch::nn::Conv2dImpl& conv, bool gradient) {
  return x.size(1) == 1 && conv.weight.size(1) == 1 && !(gradient && x.requires_grad()) &&
         (conv.weight.is_contiguous() ||
          conv.weight.is_contiguous(torch::MemoryFormat::ChannelsLast));
}

bool takes_winograd_kernel(const torch::Tensor& x, const torch::nn::Conv2dImpl& conv) {
  return x.size(1) == conv.weight.size(1) && x.size(1) % detail::kWinogradChannels == 0 &&
         conv.weight.size(0) % detail::kWinogradChannels == 0;
}

}  // namespace

torch::Tensor conv_max_pool2x2_relu(const torch::Tensor& x, torch::nn::Conv2dImpl& conv) {
  if (!takes_fused_kernel(x, conv)) return max_pool2x2_relu(conv.forward(x));
  const bool gradient =
      torch::GradMode::is_enabled() &&
      (x.requires_grad() || conv.weight.requires_grad() || conv.bias.requires_grad());
  if (takes_direct_kernel(x, conv, gradient)) {
    if (gradient) return ConvMaxPool2x2Relu::apply(x, conv.weight, conv.bias);
    // Nothing will ask for a gradient (evaluation, inference): no winner bytes, no autograd.
    return conv_pool_forward(x.contiguous(), conv.weight, conv.bias,
                             /*with_winner=*/false)
        .first;
  }
  if (!gradient && takes_winograd_kernel(x, conv)) {
    // Undefined for NaN from Winograd's transforms of an infinite input (a diverged model):
    // LibTorch's path gives what the direct convolution gives, and NaN where that has NaN.
    torch::Tensor out = detail::winograd_conv_max_pool2x2_relu(x, conv.weight, conv.bias);
    if (out.defined()) return out;
  }
  return max_pool2x2_relu(conv.forward(x));
}

}  // namespace fmnist
