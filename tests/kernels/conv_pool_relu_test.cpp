#include "fmnist/kernels/conv_pool_relu.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

#include "fmnist/kernels/prepared_weights.hpp"

namespace fmnist {
namespace {

struct ConvPoolReluResult {
  torch::Tensor out;
  torch::Tensor weight_grad;
  torch::Tensor bias_grad;
  torch::Tensor input_grad;
};

torch::nn::Conv2d make_conv(std::int64_t in_channels, std::int64_t out_channels,
                            std::int64_t padding = 0) {
  torch::manual_seed(3);
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in_channels, out_channels, /*kernel_size=*/3).padding(padding));
}

ConvPoolReluResult run_conv_pool_relu(torch::nn::Conv2d& conv, const torch::Tensor& x,
                                      const torch::Tensor& grad_out, bool fused) {
  conv->zero_grad();
  torch::Tensor out = fused ? conv_max_pool2x2_relu(x, *conv)
                            : torch::max_pool2d(conv->forward(x), /*kernel_size=*/2).relu();
  out.backward(grad_out);
  return {out.detach(), conv->weight.grad().clone(), conv->bias.grad().clone(),
          x.requires_grad() ? x.grad() : torch::Tensor()};
}

void expect_close(const torch::Tensor& fused, const torch::Tensor& reference) {
  ASSERT_EQ(fused.sizes(), reference.sizes());
  EXPECT_TRUE(torch::allclose(fused, reference, /*rtol=*/1e-4, /*atol=*/1e-5))
      << "largest difference " << (fused - reference).abs().max().item<float>();
}

void expect_same_as_libtorch(torch::nn::Conv2d& conv, const torch::Tensor& x) {
  torch::Tensor reference_out = torch::max_pool2d(conv->forward(x), 2).detach();
  torch::Tensor grad_out = torch::randn(reference_out.sizes());
  ConvPoolReluResult fused = run_conv_pool_relu(conv, x, grad_out, /*fused=*/true);
  ConvPoolReluResult reference = run_conv_pool_relu(conv, x, grad_out, /*fused=*/false);
  expect_close(fused.out, reference.out);
  expect_close(fused.weight_grad, reference.weight_grad);
  expect_close(fused.bias_grad, reference.bias_grad);
  torch::NoGradGuard no_grad;  // inference: the kernel without winner bytes, the same values
  EXPECT_TRUE(torch::equal(conv_max_pool2x2_relu(x, *conv), fused.out));
}

TEST(ConvPoolReluTest, EqualsLibTorchOnTheNetworksFirstLayer) {
  torch::nn::Conv2d conv = make_conv(1, 32);
  expect_same_as_libtorch(conv, torch::rand({5, 1, 28, 28}));
}

// A 9x8 input gives a 7x6 convolution: its last row takes no part in the pooling. 13 channels
// are a vector block and 5 single channels.
TEST(ConvPoolReluTest, EqualsLibTorchOnOddSides) {
  torch::nn::Conv2d conv = make_conv(1, 13);
  expect_same_as_libtorch(conv, torch::rand({2, 1, 9, 8}));
}

// A blank image makes the four positions of every window tie at the bias: the gradient must
// go where max_pool2d sends it (the first position), and only where the bias is positive.
TEST(ConvPoolReluTest, EqualsLibTorchWhenEveryWindowTies) {
  torch::nn::Conv2d conv = make_conv(1, 8);
  expect_same_as_libtorch(conv, torch::zeros({2, 1, 6, 6}));
}

TEST(ConvPoolReluTest, OutputIsChannelsLast) {
  torch::nn::Conv2d conv = make_conv(1, 4);
  torch::Tensor out = conv_max_pool2x2_relu(torch::rand({2, 1, 8, 8}), *conv);
  EXPECT_EQ(out.sizes(), (std::vector<std::int64_t>{2, 4, 3, 3}));
  EXPECT_TRUE(out.is_contiguous(torch::MemoryFormat::ChannelsLast));
}

// The optimizer updates a parameter and its gradient in one flat pass: the gradient must come
// back in the weight's own layout, channels-last as the model stores it, with the same values.
TEST(ConvPoolReluTest, WeightGradientHasTheWeightsLayout) {
  torch::Tensor x = torch::rand({3, 1, 10, 10});
  torch::nn::Conv2d nchw = make_conv(1, 6);
  torch::nn::Conv2d nhwc = make_conv(1, 6);
  {
    torch::NoGradGuard no_grad;
    // Explicit NHWC strides: with one input channel, contiguous(ChannelsLast) keeps NCHW's.
    nhwc->weight.set_data(torch::empty_strided({6, 1, 3, 3}, {9, 1, 3, 1}).copy_(nhwc->weight));
  }
  torch::Tensor grad_out = torch::randn({3, 6, 4, 4});
  torch::Tensor nchw_grad = run_conv_pool_relu(nchw, x, grad_out, /*fused=*/true).weight_grad;
  conv_max_pool2x2_relu(x, *nhwc).backward(grad_out);
  torch::Tensor nhwc_grad = nhwc->weight.grad();
  EXPECT_EQ(nhwc_grad.strides(), nhwc->weight.strides());
  EXPECT_EQ(nchw->weight.grad().strides(), nchw->weight.strides());
  EXPECT_TRUE(torch::equal(nhwc_grad, nchw_grad));
}

// The weight gradient is summed over fixed groups of images, whatever the thread count.
TEST(ConvPoolReluTest, GradientDoesNotDependOnTheThreadCount) {
  torch::nn::Conv2d conv = make_conv(1, 32);
  torch::Tensor x = torch::rand({40, 1, 28, 28});
  torch::Tensor grad_out = torch::randn({40, 32, 13, 13});
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  ConvPoolReluResult one = run_conv_pool_relu(conv, x, grad_out, /*fused=*/true);
  torch::set_num_threads(2);
  ConvPoolReluResult two = run_conv_pool_relu(conv, x, grad_out, /*fused=*/true);
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one.weight_grad, two.weight_grad));
  EXPECT_TRUE(torch::equal(one.bias_grad, two.bias_grad));
}

// Without a gradient, a convolution of several channels (16 and 32 here, as the network's
// second layer's 32 and 64) runs Winograd's algorithm: the same values up to float rounding,
// on even and odd sides, and NaN passes as in LibTorch.
TEST(ConvPoolReluTest, WithoutGradientSeveralChannelsEqualLibTorch) {
  torch::nn::Conv2d conv = make_conv(16, 32);
  for (std::vector<std::int64_t> shape :
       {std::vector<std::int64_t>{3, 16, 13, 13}, {2, 16, 9, 8}}) {
    torch::Tensor x = torch::randn(shape).contiguous(torch::MemoryFormat::ChannelsLast);
    x[1][3][4][5] = std::numeric_limits<float>::quiet_NaN();
    torch::NoGradGuard no_grad;
    torch::Tensor reference = torch::max_pool2d(conv->forward(x), 2).relu();
    torch::Tensor fused = conv_max_pool2x2_relu(x, *conv);
    EXPECT_TRUE(fused.is_contiguous(torch::MemoryFormat::ChannelsLast));
    EXPECT_TRUE(torch::equal(fused.isnan(), reference.isnan()));
    expect_close(fused.nan_to_num(), reference.nan_to_num());
  }
}

// A one-image call of the second layer's size computes in a buffer that its thread keeps, a
// larger batch in its own: each result equals LibTorch's whatever ran before it, and stays as
// it was after later calls.
TEST(ConvPoolReluTest, WithoutGradientOneImageAndLargerBatchesInTurn) {
  torch::nn::Conv2d conv = make_conv(32, 64);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> inputs;
  std::vector<torch::Tensor> outputs;
  for (std::int64_t images : {1, 4, 1, 2, 1}) {
    inputs.push_back(
        torch::randn({images, 32, 13, 13}).contiguous(torch::MemoryFormat::ChannelsLast));
    outputs.push_back(conv_max_pool2x2_relu(inputs.back(), *conv));
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    expect_close(outputs[i], torch::max_pool2d(conv->forward(inputs[i]), 2).relu());
  }
}

// Outside a FrozenWeightsScope the kernels rearrange the weight on every call: training's
// optimisers write it in place through its data pointer, which bumps no version counter.
// The direct kernel (1 input channel) and Winograd.
TEST(ConvPoolReluTest, WithoutGradientFollowsRawWritesToTheWeight) {
  for (std::int64_t in_channels : {1, 16}) {
    torch::nn::Conv2d conv = make_conv(in_channels, 16);
    torch::Tensor x =
        torch::rand({2, in_channels, 10, 10}).contiguous(torch::MemoryFormat::ChannelsLast);
    torch::NoGradGuard no_grad;
    torch::Tensor before = conv_max_pool2x2_relu(x, *conv);
    float* weight = conv->weight.data_ptr<float>();
    for (std::int64_t i = 0; i < conv->weight.numel(); ++i) weight[i] = -2 * weight[i];
    expect_close(conv_max_pool2x2_relu(x, *conv), torch::max_pool2d(conv->forward(x), 2).relu());
    EXPECT_FALSE(torch::allclose(before, conv_max_pool2x2_relu(x, *conv)));
  }
}

// Within a scope each layer's weight keeps its own forms, and a change LibTorch's version
// counter sees is rearranged anew.
TEST(ConvPoolReluTest, FrozenWeightsScopeKeepsEachWeightsForms) {
  torch::nn::Conv2d first = make_conv(1, 16), second = make_conv(16, 16), third = make_conv(16, 16);
  third->weight.data().neg_();
  torch::Tensor x = torch::rand({2, 1, 22, 22}).contiguous(torch::MemoryFormat::ChannelsLast);
  torch::NoGradGuard no_grad;
  PreparedWeights weights;
  FrozenWeightsScope frozen(weights);
  for (int pass = 0; pass < 2; ++pass) {
    torch::Tensor hidden = conv_max_pool2x2_relu(x, *first);
    expect_close(hidden, torch::max_pool2d(first->forward(x), 2).relu());
    for (torch::nn::Conv2d* conv : {&second, &third}) {
      expect_close(conv_max_pool2x2_relu(hidden, **conv),
                   torch::max_pool2d((*conv)->forward(hidden), 2).relu());
    }
    second->weight.mul_(-2);
  }
}

// Winograd's transforms turn an infinite input into NaN; such a batch takes LibTorch's path.
TEST(ConvPoolReluTest, WithoutGradientInfinityGivesWhatLibTorchGives) {
  torch::nn::Conv2d conv = make_conv(16, 16);
  torch::Tensor x = torch::rand({1, 16, 6, 6}).contiguous(torch::MemoryFormat::ChannelsLast);
  x[0][2][1][1] = std::numeric_limits<float>::infinity();
  torch::NoGradGuard no_grad;
  torch::Tensor reference = torch::max_pool2d(conv->forward(x), 2).relu();
  torch::Tensor fused = conv_max_pool2x2_relu(x, *conv);
  EXPECT_TRUE(torch::equal(fused.isnan(), reference.isnan()));
  EXPECT_TRUE(torch::equal(fused.isinf(), reference.isinf()));
}

// An input whose channels are not the weight's fails as LibTorch's convolution fails, instead
// of reading past the weight.
TEST(ConvPoolReluTest, WithoutGradientMismatchedChannelsThrow) {
  torch::nn::Conv2d conv = make_conv(16, 16);
  torch::Tensor x = torch::rand({1, 32, 6, 6}).contiguous(torch::MemoryFormat::ChannelsLast);
  torch::NoGradGuard no_grad;
  EXPECT_THROW(conv_max_pool2x2_relu(x, *conv), c10::Error);
}

// Frozen weights and an input that needs a gradient: LibTorch's path, with its input gradient.
TEST(ConvPoolReluTest, SeveralChannelsWithFrozenWeightsPassTheInputGradient) {
  torch::nn::Conv2d conv = make_conv(16, 16);
  for (auto& parameter : conv->parameters()) parameter.requires_grad_(false);
  torch::Tensor x = torch::rand({2, 16, 8, 8}).contiguous(torch::MemoryFormat::ChannelsLast);
  torch::Tensor grad_out = torch::randn({2, 16, 3, 3});
  torch::Tensor fused_input = x.clone().requires_grad_();
  conv_max_pool2x2_relu(fused_input, *conv).backward(grad_out);
  torch::Tensor reference_input = x.clone().requires_grad_();
  torch::max_pool2d(conv->forward(reference_input), 2).relu().backward(grad_out);
  ASSERT_TRUE(fused_input.grad().defined());
  expect_close(fused_input.grad(), reference_input.grad());
}

// Anything the fused kernel does not cover takes LibTorch's convolution: an input that needs
// a gradient, several input channels, padding.
TEST(ConvPoolReluTest, OtherConvolutionsTakeLibTorchsPath) {
  torch::nn::Conv2d conv = make_conv(1, 4);
  torch::Tensor x = torch::rand({2, 1, 8, 8});
  torch::Tensor grad_out = torch::randn({2, 4, 3, 3});
  ConvPoolReluResult fused =
      run_conv_pool_relu(conv, x.clone().requires_grad_(), grad_out, /*fused=*/true);
  ConvPoolReluResult reference =
      run_conv_pool_relu(conv, x.clone().requires_grad_(), grad_out, /*fused=*/false);
  ASSERT_TRUE(fused.input_grad.defined());
  EXPECT_TRUE(torch::equal(fused.input_grad, reference.input_grad));

  torch::nn::Conv2d three_channels = make_conv(3, 4);
  expect_same_as_libtorch(three_channels, torch::rand({2, 3, 8, 8}));
  torch::nn::Conv2d padded = make_conv(1, 4, /*padding=*/1);
  expect_same_as_libtorch(padded, torch::rand({2, 1, 8, 8}));
}

}  // namespace
}  // namespace fmnist
