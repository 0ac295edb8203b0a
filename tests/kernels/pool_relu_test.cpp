#include "fmnist/kernels/pool_relu.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace fmnist {
namespace {

struct PoolReluResult {
  torch::Tensor out;
  torch::Tensor grad;
};

PoolReluResult run_pool_relu(const torch::Tensor& input, const torch::Tensor& grad_out,
                             bool fused) {
  torch::Tensor x = input.detach().clone(torch::MemoryFormat::ChannelsLast).requires_grad_();
  torch::Tensor out = fused ? max_pool2x2_relu(x) : torch::max_pool2d(x, 2).relu();
  out.backward(grad_out);
  return {out.detach(), x.grad()};
}

void expect_pool_relu_as_libtorch(const torch::Tensor& input) {
  torch::Tensor grad_out =
      torch::randn({input.size(0), input.size(1), input.size(2) / 2, input.size(3) / 2});
  PoolReluResult fused = run_pool_relu(input, grad_out, /*fused=*/true);
  PoolReluResult reference = run_pool_relu(input, grad_out, /*fused=*/false);
  EXPECT_TRUE(torch::equal(fused.out, reference.out));
  EXPECT_TRUE(torch::equal(fused.grad, reference.grad));
  torch::NoGradGuard no_grad;  // the kernel without winner bytes
  EXPECT_TRUE(torch::equal(max_pool2x2_relu(input.contiguous(torch::MemoryFormat::ChannelsLast)),
                           reference.out));
}

TEST(PoolReluTest, EqualsLibTorchOnEvenSides) {
  expect_pool_relu_as_libtorch(torch::randn({3, 32, 26, 26}));
}

// 11x11 is conv2's output: the last row and column take no part and get zero gradient.
TEST(PoolReluTest, EqualsLibTorchOnOddSides) {
  expect_pool_relu_as_libtorch(torch::randn({2, 64, 11, 11}));
}

// Ties (ReLU'd zeros, repeated values) must send the gradient where max_pool2d sends it.
TEST(PoolReluTest, EqualsLibTorchWithTies) {
  expect_pool_relu_as_libtorch(torch::randint(-2, 3, {2, 8, 6, 6}).to(torch::kFloat));
}

// With and without a gradient (the kernel with winner bytes, and the one without).
TEST(PoolReluTest, KeepsNanLikeLibTorch) {
  torch::Tensor x = torch::randn({1, 4, 4, 4});
  x[0][1][2][3] = std::numeric_limits<float>::quiet_NaN();
  torch::Tensor reference = torch::max_pool2d(x, 2).relu();
  for (bool gradient : {false, true}) {
    torch::Tensor input =
        x.contiguous(torch::MemoryFormat::ChannelsLast).detach().requires_grad_(gradient);
    torch::Tensor fused = max_pool2x2_relu(input).detach();
    EXPECT_TRUE(torch::equal(fused.isnan(), reference.isnan())) << gradient;
    EXPECT_TRUE(torch::equal(fused.nan_to_num(), reference.nan_to_num())) << gradient;
  }
}

TEST(PoolReluTest, OutputIsChannelsLast) {
  torch::Tensor x = torch::randn({2, 4, 6, 6}).contiguous(torch::MemoryFormat::ChannelsLast);
  EXPECT_TRUE(max_pool2x2_relu(x).is_contiguous(torch::MemoryFormat::ChannelsLast));
}

// NCHW tensors take LibTorch's ops.
TEST(PoolReluTest, AcceptsContiguousTensors) {
  torch::Tensor x = torch::randn({2, 4, 6, 6});
  EXPECT_TRUE(torch::equal(max_pool2x2_relu(x), torch::max_pool2d(x, 2).relu()));
}

}  // namespace
}  // namespace fmnist
