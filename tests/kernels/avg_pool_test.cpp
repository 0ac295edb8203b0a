#include "fmnist/kernels/avg_pool.hpp"

#include <gtest/gtest.h>

namespace fmnist {
namespace {

struct AvgPoolResult {
  torch::Tensor out, grad_in;
};

AvgPoolResult run_avg_pool(const torch::Tensor& input, const torch::Tensor& grad_out, bool own) {
  torch::Tensor x = input.detach().clone(torch::MemoryFormat::ChannelsLast).requires_grad_();
  torch::Tensor out = own ? avg_pool2x2_ceil(x)
                          : torch::avg_pool2d(x, /*kernel_size=*/2, /*stride=*/2,
                                              /*padding=*/0, /*ceil_mode=*/true);
  out.backward(grad_out);
  return {out.detach(), x.grad()};
}

// Bit for bit LibTorch's avg_pool2d with ceil_mode, on even and odd sides (7 -> 4: the last
// row and column of windows hold 2 pixels, the corner 1).
void expect_equal_to_libtorch(std::vector<std::int64_t> shape) {
  torch::Tensor input = torch::randn(shape) * 10;
  shape[2] = (shape[2] + 1) / 2;
  shape[3] = (shape[3] + 1) / 2;
  torch::Tensor grad_out = torch::randn(shape);
  AvgPoolResult own = run_avg_pool(input, grad_out, /*own=*/true);
  AvgPoolResult reference = run_avg_pool(input, grad_out, /*own=*/false);
  EXPECT_EQ(own.out.sizes(), reference.out.sizes());
  EXPECT_TRUE(torch::equal(own.out, reference.out));
  EXPECT_TRUE(torch::equal(own.grad_in, reference.grad_in));
  EXPECT_TRUE(own.out.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(own.grad_in.is_contiguous(torch::MemoryFormat::ChannelsLast));
}

TEST(AvgPoolTest, EqualsLibTorchOnEvenSides) {
  torch::manual_seed(1);
  expect_equal_to_libtorch({4, 16, 28, 28});
}

TEST(AvgPoolTest, EqualsLibTorchOnOddSides) {
  torch::manual_seed(2);
  expect_equal_to_libtorch({3, 13, 7, 5});
}

TEST(AvgPoolTest, PartialWindowsAverageTheirOwnPixels) {
  torch::Tensor x = torch::arange(9, torch::kFloat)
                        .reshape({1, 1, 3, 3})
                        .contiguous(torch::MemoryFormat::ChannelsLast);
  torch::Tensor out = avg_pool2x2_ceil(x);
  EXPECT_FLOAT_EQ(out[0][0][0][0].item<float>(), (0 + 1 + 3 + 4) / 4.0f);
  EXPECT_FLOAT_EQ(out[0][0][0][1].item<float>(), (2 + 5) / 2.0f);
  EXPECT_FLOAT_EQ(out[0][0][1][1].item<float>(), 8.0f);
}

}  // namespace
}  // namespace fmnist
