#include "fmnist/kernels/batch_norm_relu.hpp"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

namespace fmnist {
namespace {

struct Result {
  torch::Tensor out, grad_x, grad_weight, grad_bias, running_mean, running_var;
  std::int64_t batches = 0;
};

// One forward and backward through a fresh BatchNorm2d with non-trivial scale, shift and
// running statistics, fused or LibTorch's batch_norm + relu.
Result run(const torch::Tensor& input, const torch::Tensor& grad_out, bool fused) {
  torch::manual_seed(3);
  torch::nn::BatchNorm2d bn(input.size(1));
  {
    torch::NoGradGuard no_grad;
    bn->weight.uniform_(0.5, 1.5);
    bn->bias.uniform_(-0.5, 0.5);
    bn->running_mean.uniform_(-1, 1);
    bn->running_var.uniform_(0.5, 2);
  }
  torch::Tensor x = input.detach().clone(torch::MemoryFormat::ChannelsLast).requires_grad_();
  torch::Tensor out = fused ? batch_norm_relu(x, *bn) : bn->forward(x).relu();
  out.backward(grad_out);
  return {out.detach(),
          x.grad(),
          bn->weight.grad(),
          bn->bias.grad(),
          bn->running_mean,
          bn->running_var,
          bn->num_batches_tracked.item<std::int64_t>()};
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, const char* what) {
  EXPECT_TRUE(torch::allclose(a, b, /*rtol=*/1e-4, /*atol=*/1e-5))
      << what << ": largest difference " << (a - b).abs().max().item<float>();
}

void expect_same_as_libtorch(const torch::Tensor& input) {
  torch::Tensor grad_out = torch::randn(input.sizes());
  Result fused = run(input, grad_out, /*fused=*/true);
  Result reference = run(input, grad_out, /*fused=*/false);
  expect_close(fused.out, reference.out, "output");
  expect_close(fused.grad_x, reference.grad_x, "input gradient");
  expect_close(fused.grad_weight, reference.grad_weight, "scale gradient");
  expect_close(fused.grad_bias, reference.grad_bias, "shift gradient");
  expect_close(fused.running_mean, reference.running_mean, "running mean");
  expect_close(fused.running_var, reference.running_var, "running variance");
  EXPECT_EQ(fused.batches, reference.batches);
}

TEST(BatchNormReluTest, EqualsLibTorchInTraining) {
  torch::manual_seed(1);
  expect_same_as_libtorch(torch::randn({8, 16, 14, 14}) * 3 + 1);
}

// More rows than one chunk of the per-channel sums, and a channel count that is no multiple of
// the vector width.
TEST(BatchNormReluTest, EqualsLibTorchOverManyChunks) {
  torch::manual_seed(2);
  expect_same_as_libtorch(torch::randn({33, 13, 7, 7}) - 2);
}

TEST(BatchNormReluTest, ResultDoesNotDependOnThreadCount) {
  torch::manual_seed(4);
  torch::Tensor input = torch::randn({16, 32, 14, 14});
  torch::Tensor grad_out = torch::randn(input.sizes());
  int threads = at::get_num_threads();
  at::set_num_threads(1);
  Result one = run(input, grad_out, /*fused=*/true);
  at::set_num_threads(2);
  Result two = run(input, grad_out, /*fused=*/true);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one.out, two.out));
  EXPECT_TRUE(torch::equal(one.grad_x, two.grad_x));
  EXPECT_TRUE(torch::equal(one.grad_weight, two.grad_weight));
}

TEST(BatchNormReluTest, OutputIsChannelsLastAndNonNegative) {
  torch::nn::BatchNorm2d bn(4);
  torch::Tensor x = torch::randn({2, 4, 6, 6}).contiguous(torch::MemoryFormat::ChannelsLast);
  torch::Tensor out = batch_norm_relu(x, *bn);
  EXPECT_TRUE(out.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_GE(out.min().item<float>(), 0.0f);
  EXPECT_GT(out.max().item<float>(), 0.0f);
}

// Evaluation mode and NCHW tensors take LibTorch's ops.
TEST(BatchNormReluTest, EvaluationUsesRunningStatistics) {
  torch::nn::BatchNorm2d bn(3);
  {
    torch::NoGradGuard no_grad;
    bn->running_mean.fill_(1);
    bn->running_var.fill_(4);
  }
  bn->eval();
  torch::Tensor x = torch::full({1, 3, 2, 2}, 5.0f);
  torch::Tensor out = batch_norm_relu(x, *bn);
  EXPECT_NEAR(out[0][0][0][0].item<float>(), 2.0f, 1e-4);  // (5 - 1) / sqrt(4)
  EXPECT_EQ(bn->num_batches_tracked.item<std::int64_t>(), 0);
}

TEST(BatchNormReluTest, AcceptsContiguousTensors) {
  torch::manual_seed(5);
  torch::nn::BatchNorm2d bn(3);
  torch::Tensor x = torch::randn({2, 3, 5, 5});
  torch::Tensor out = batch_norm_relu(x, *bn);
  EXPECT_EQ(out.sizes(), x.sizes());
  EXPECT_GE(out.min().item<float>(), 0.0f);
}

}  // namespace
}  // namespace fmnist
