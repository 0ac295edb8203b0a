#include "fmnist/kernels/batch_norm_relu.hpp"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

namespace fmnist {
namespace {

struct BatchNormReluResult {
  torch::Tensor out, grad_x, grad_weight, grad_bias, running_mean, running_var;
  std::int64_t batches = 0;
};

// A fresh BatchNorm2d with non-trivial scale, shift and running statistics.
torch::nn::BatchNorm2d make_batch_norm(std::int64_t channels, std::uint64_t seed) {
  torch::manual_seed(seed);
  torch::nn::BatchNorm2d bn(channels);
  torch::NoGradGuard no_grad;
  bn->weight.uniform_(0.5, 1.5);
  bn->bias.uniform_(-0.5, 0.5);
  bn->running_mean.uniform_(-1, 1);
  bn->running_var.uniform_(0.5, 2);
  return bn;
}

BatchNormReluResult result_of(const torch::Tensor& out, const torch::Tensor& x,
                              const torch::nn::BatchNorm2d& bn) {
  return {out.detach(),
          x.grad(),
          bn->weight.grad(),
          bn->bias.grad(),
          bn->running_mean,
          bn->running_var,
          bn->num_batches_tracked.item<std::int64_t>()};
}

torch::Tensor channels_last_leaf(const torch::Tensor& input) {
  return input.detach().clone(torch::MemoryFormat::ChannelsLast).requires_grad_();
}

// One forward and backward, fused or LibTorch's batch_norm + relu.
BatchNormReluResult run_batch_norm_relu(const torch::Tensor& input, const torch::Tensor& grad_out,
                                        bool fused) {
  torch::nn::BatchNorm2d bn = make_batch_norm(input.size(1), /*seed=*/3);
  torch::Tensor x = channels_last_leaf(input);
  torch::Tensor out = fused ? batch_norm_relu(x, *bn) : bn->forward(x).relu();
  out.backward(grad_out);
  return result_of(out, x, bn);
}

// The same for relu(bn_a(a) + bn_b(b)): one result per input.
std::pair<BatchNormReluResult, BatchNormReluResult> run_add(const torch::Tensor& a_input,
                                                            const torch::Tensor& b_input,
                                                            const torch::Tensor& grad_out,
                                                            bool fused) {
  torch::nn::BatchNorm2d bn_a = make_batch_norm(a_input.size(1), /*seed=*/3);
  torch::nn::BatchNorm2d bn_b = make_batch_norm(b_input.size(1), /*seed=*/4);
  torch::Tensor a = channels_last_leaf(a_input), b = channels_last_leaf(b_input);
  torch::Tensor out = fused ? batch_norm_add_relu(a, *bn_a, b, *bn_b)
                            : (bn_a->forward(a) + bn_b->forward(b)).relu();
  out.backward(grad_out);
  return {result_of(out, a, bn_a), result_of(out, b, bn_b)};
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, const char* what) {
  EXPECT_TRUE(torch::allclose(a, b, /*rtol=*/1e-4, /*atol=*/1e-5))
      << what << ": largest difference " << (a - b).abs().max().item<float>();
}

void expect_same(const BatchNormReluResult& fused, const BatchNormReluResult& reference) {
  expect_close(fused.out, reference.out, "output");
  expect_close(fused.grad_x, reference.grad_x, "input gradient");
  expect_close(fused.grad_weight, reference.grad_weight, "scale gradient");
  expect_close(fused.grad_bias, reference.grad_bias, "shift gradient");
  expect_close(fused.running_mean, reference.running_mean, "running mean");
  expect_close(fused.running_var, reference.running_var, "running variance");
  EXPECT_EQ(fused.batches, reference.batches);
}

void expect_same_as_libtorch(const torch::Tensor& input) {
  torch::Tensor grad_out = torch::randn(input.sizes());
  expect_same(run_batch_norm_relu(input, grad_out, /*fused=*/true),
              run_batch_norm_relu(input, grad_out, /*fused=*/false));
}

void expect_add_same_as_libtorch(const torch::Tensor& a, const torch::Tensor& b) {
  torch::Tensor grad_out = torch::randn(a.sizes());
  auto [fused_a, fused_b] = run_add(a, b, grad_out, /*fused=*/true);
  auto [reference_a, reference_b] = run_add(a, b, grad_out, /*fused=*/false);
  SCOPED_TRACE("relu(bn_a(a) + bn_b(b))");
  expect_same(fused_a, reference_a);
  expect_same(fused_b, reference_b);
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

TEST(BatchNormAddReluTest, EqualsLibTorchInTraining) {
  torch::manual_seed(6);
  expect_add_same_as_libtorch(torch::randn({8, 16, 14, 14}) * 3 + 1, torch::randn({8, 16, 14, 14}));
}

// Many chunks, 13 channels, and most outputs zero (the sum is mostly negative).
TEST(BatchNormAddReluTest, EqualsLibTorchOverManyChunks) {
  torch::manual_seed(7);
  expect_add_same_as_libtorch(torch::randn({33, 13, 7, 7}) - 2, torch::randn({33, 13, 7, 7}) * 5);
}

TEST(BatchNormAddReluTest, ResultDoesNotDependOnThreadCount) {
  torch::manual_seed(8);
  torch::Tensor a = torch::randn({16, 32, 14, 14}), b = torch::randn({16, 32, 14, 14});
  torch::Tensor grad_out = torch::randn(a.sizes());
  int threads = at::get_num_threads();
  at::set_num_threads(1);
  auto one = run_add(a, b, grad_out, /*fused=*/true);
  at::set_num_threads(2);
  auto two = run_add(a, b, grad_out, /*fused=*/true);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one.first.out, two.first.out));
  EXPECT_TRUE(torch::equal(one.first.grad_x, two.first.grad_x));
  EXPECT_TRUE(torch::equal(one.second.grad_x, two.second.grad_x));
  EXPECT_TRUE(torch::equal(one.second.grad_weight, two.second.grad_weight));
}

// Evaluation mode takes LibTorch's ops, with the running statistics.
TEST(BatchNormAddReluTest, EvaluationUsesRunningStatistics) {
  torch::nn::BatchNorm2d bn_a(2), bn_b(2);
  {
    torch::NoGradGuard no_grad;
    bn_a->running_mean.fill_(1);
    bn_b->running_var.fill_(4);
  }
  bn_a->eval();
  bn_b->eval();
  torch::Tensor x = torch::full({1, 2, 3, 3}, 3.0f);
  torch::Tensor out = batch_norm_add_relu(x, *bn_a, x, *bn_b);
  EXPECT_NEAR(out[0][1][2][2].item<float>(), 2.0f + 1.5f, 1e-4);  // (3 - 1) / 1 + 3 / sqrt(4)
  EXPECT_EQ(bn_a->num_batches_tracked.item<std::int64_t>(), 0);
}

TEST(BatchNormReluTest, ResultDoesNotDependOnThreadCount) {
  torch::manual_seed(4);
  torch::Tensor input = torch::randn({16, 32, 14, 14});
  torch::Tensor grad_out = torch::randn(input.sizes());
  int threads = at::get_num_threads();
  at::set_num_threads(1);
  BatchNormReluResult one = run_batch_norm_relu(input, grad_out, /*fused=*/true);
  at::set_num_threads(2);
  BatchNormReluResult two = run_batch_norm_relu(input, grad_out, /*fused=*/true);
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
