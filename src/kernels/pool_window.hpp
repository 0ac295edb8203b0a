#pragma once

// The per-window kernels of the fused max-pool + ReLU ops (pool_relu.cpp, conv_pool_relu.cpp,
// winograd.cpp), on channels-last data: one call handles one 2x2 window, all channels, or
// (pool_lanes) one vector of channels.
//
// They are branch-free over channels so that the compiler vectorises them: with a branch per
// element (max_pool2d's form), the random winner positions cost a mispredicted branch every
// few elements, and pooling took a quarter of a training step.

#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <cstring>

// Compiles a kernel for AVX-512 and AVX2 machines too, picked at load time (GCC's
// target_clones): the default x86-64 build has only SSE2, and the pooling kernels' byte
// outputs need AVX-512BW to run well. Clang and GCC before 12 lack these targets.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#define FMNIST_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FMNIST_VECTOR_CLONES
#endif

namespace fmnist::detail {

// An uninitialised n x c x h x w tensor stored channels-last, the kernels' layout.
inline torch::Tensor empty_channels_last(std::int64_t n, std::int64_t c, std::int64_t h,
                                         std::int64_t w, torch::ScalarType type) {
  return torch::empty({n, c, h, w},
                      torch::TensorOptions(type).memory_format(torch::MemoryFormat::ChannelsLast));
}

// A dense float tensor on the CPU.
inline bool is_cpu_float(const torch::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat && !x.is_mkldnn();
}

// Whether the kernels here can take x: a 4-d float tensor on the CPU, stored channels-last.
inline bool is_cpu_float_channels_last(const torch::Tensor& x) {
  return is_cpu_float(x) && x.dim() == 4 && x.is_contiguous(torch::MemoryFormat::ChannelsLast);
}

// The four window positions, numbered in the order max_pool2d scans them (row-major), so ties
// go the same way. A winner byte of kWindow means the output was not positive: ReLU passes
// no gradient back.
constexpr std::uint8_t kWindow = 4;

// relu(max(a, b, c, d)) and the position that won it, in scan order; kWindow when the
// result is not positive.
struct WindowMax {
  float value;
  std::uint8_t winner;
};

inline WindowMax window_max_relu(float a, float b, float c, float d) {
  float best = a;
  int best_k = 0;
  // NaN wins and stays, as in max_pool2d: a later NaN replaces an earlier one.
  auto scan = [&](float v, int k) {
    bool take = v > best || std::isnan(v);
    best = take ? v : best;
    best_k = take ? k : best_k;
  };
  scan(b, 1);
  scan(c, 2);
  scan(d, 3);
  // std::max would turn NaN into 0; ReLU in LibTorch keeps it.
  return {best > 0 || std::isnan(best) ? best : 0.0f,
          static_cast<std::uint8_t>(best > 0 ? best_k : kWindow)};
}

// out = relu(max(a, b, c, d)) per channel; a, b, c, d are the window's pixels in scan order.
inline void pool_window(const float* __restrict a, const float* __restrict b,
                        const float* __restrict c, const float* __restrict d, float* __restrict out,
                        std::uint8_t* __restrict winner, std::int64_t channels) {
  for (std::int64_t ch = 0; ch < channels; ++ch) {
    WindowMax max = window_max_relu(a[ch], b[ch], c[ch], d[ch]);
    out[ch] = max.value;
    winner[ch] = max.winner;
  }
}

// pool_window without the winners, where no gradient will be asked for.
inline void pool_window_values(const float* __restrict a, const float* __restrict b,
                               const float* __restrict c, const float* __restrict d,
                               float* __restrict out, std::int64_t channels) {
  for (std::int64_t ch = 0; ch < channels; ++ch) {
    out[ch] = window_max_relu(a[ch], b[ch], c[ch], d[ch]).value;
  }
}

// Channels that the convolution kernels compute at once, one vector (GCC's vector extension:
// one AVX2 register).
constexpr std::int64_t kLanes = 8;
using Lanes = float __attribute__((vector_size(kLanes * sizeof(float))));

// Lanes at any float's address, which may alias floats: one unaligned vector move. A memcpy
// into a vector held in an array (transform_output_tile's) compiled to two 16-byte moves
// through the stack, and the 32-byte load of the vector then stalled on store forwarding.
// The typedef form: in a using-declaration's attributes clang ignores `aligned` and kept 32.
typedef float UnalignedLanes
    __attribute__((vector_size(kLanes * sizeof(float)), aligned(alignof(float)), may_alias));
static_assert(alignof(UnalignedLanes) == alignof(float));

// Unaligned vector loads and stores, by reference: a vector passed by value changes the ABI
// between the kernels' target clones.
[[gnu::always_inline]] inline void load_lanes(Lanes& to, const float* from) {
  to = *reinterpret_cast<const UnalignedLanes*>(from);
}

[[gnu::always_inline]] inline void store_lanes(float* to, const Lanes& from) {
  *reinterpret_cast<UnalignedLanes*>(to) = from;
}

// pool_window for one vector of channels whose four window positions are in `window`; no
// winner bytes where `winner` is null. Through pool_window's loop on a copy of the vectors,
// the first layer's training forward pass took 4.5 ms for 128 images, against 1.2 ms (AVX2).
[[gnu::always_inline]] inline void pool_lanes(const Lanes (&window)[kWindow], float* out,
                                              std::uint8_t* winner) {
  using Positions = std::int32_t __attribute__((vector_size(kLanes * sizeof(std::int32_t))));
  using WinnerBytes = std::uint8_t __attribute__((vector_size(kLanes)));
  Lanes best = window[0];
  Positions position = {};
  for (int k = 1; k < kWindow; ++k) {
    // NaN wins and stays, as in max_pool2d: a later NaN replaces an earlier one.
    Positions take = window[k] > best || window[k] != window[k];
    best = take ? window[k] : best;
    position = take ? k : position;
  }
  Lanes value = (best > 0 || best != best) ? best : 0;  // ReLU keeps NaN
  store_lanes(out, value);
  if (winner) {
    WinnerBytes bytes = __builtin_convertvector(best > 0 ? position : kWindow, WinnerBytes);
    std::memcpy(winner, &bytes, sizeof bytes);
  }
}

// grad_in = winner == k ? grad_out : 0 per channel: the gradient of window position k. A bit
// mask on the float's bits, because a byte-to-float select does not vectorise without AVX and
// grad * 0 would turn inf into NaN.
inline void route_gradient(const float* __restrict grad_out, const std::uint8_t* __restrict winner,
                           std::uint8_t k, float* __restrict grad_in, std::int64_t channels) {
  for (std::int64_t ch = 0; ch < channels; ++ch) {
    std::uint32_t bits;
    std::memcpy(&bits, grad_out + ch, sizeof bits);
    bits &= 0u - static_cast<std::uint32_t>(winner[ch] == k);
    std::memcpy(grad_in + ch, &bits, sizeof bits);
  }
}

}  // namespace fmnist::detail
