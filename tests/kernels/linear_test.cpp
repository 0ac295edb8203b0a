#include "fmnist/kernels/linear.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "fmnist/kernels/prepared_weights.hpp"

namespace fmnist {
namespace {

// One float row takes fmnist's kernel, four outputs at a time over vectors of inputs: sizes
// with outputs and inputs left over (43 -> 7), fewer outputs than four (45 -> 3) and fc1's; a
// double row, LibTorch's.
TEST(LinearLayerTest, OneRowWithoutGradientEqualsForward) {
  torch::manual_seed(4);
  for (auto [inputs, outputs] : {std::pair{43, 7}, {45, 3}, {1600, 128}}) {
    for (auto type : {torch::kFloat, torch::kDouble}) {
      torch::nn::Linear layer(inputs, outputs);
      layer->to(type);
      torch::Tensor x = torch::randn({1, inputs}, type);
      torch::Tensor expected = layer->forward(x).detach();
      torch::NoGradGuard no_grad;
      torch::Tensor row = linear_layer(x, *layer);
      ASSERT_EQ(row.sizes(), expected.sizes());
      EXPECT_EQ(row.scalar_type(), type);
      EXPECT_TRUE(torch::allclose(row, expected, /*rtol=*/1e-5, /*atol=*/1e-5))
          << inputs << " -> " << outputs << ", largest difference "
          << (row - expected).abs().max().item<double>();
    }
  }
}

// A row of the wrong width is refused as by the layer's own forward, not read past its end.
TEST(LinearLayerTest, OneRowOfTheWrongWidthThrows) {
  torch::nn::Linear layer(40, 7);
  torch::NoGradGuard no_grad;
  for (std::int64_t width : {39, 41}) {
    EXPECT_THROW(linear_layer(torch::ones({1, width}), *layer), c10::Error) << width;
  }
}

// A trainable bias alone is a gradient to keep: the row takes the layer's forward.
TEST(LinearLayerTest, TrainableBiasAloneKeepsAutograd) {
  torch::nn::Linear layer(40, 7);
  layer->weight.requires_grad_(false);
  torch::Tensor row = linear_layer(torch::ones({1, 40}), *layer);
  EXPECT_TRUE(row.requires_grad());
}

// Several rows, and any row with a gradient, take the layer's own forward.
TEST(LinearLayerTest, OtherInputsTakeTheLayersForward) {
  torch::manual_seed(4);
  torch::nn::Linear layer(40, 7);
  torch::Tensor rows = torch::randn({3, 40});
  EXPECT_TRUE(torch::equal(linear_layer(rows, *layer), layer->forward(rows)));
  torch::Tensor row = linear_layer(rows.slice(/*dim=*/0, 0, 1), *layer);
  EXPECT_TRUE(row.requires_grad());
}

// Outside a scope, or with a gradient, the input is flattened for the layer.
TEST(LinearLayerTest, FlattenedInputOtherwiseTakesTheLayersForward) {
  torch::manual_seed(6);
  torch::nn::Linear layer(3 * 4 * 5, 7);
  torch::Tensor x = torch::randn({2, 3, 4, 5}).contiguous(torch::MemoryFormat::ChannelsLast);
  torch::Tensor expected = layer->forward(x.flatten(/*start_dim=*/1));
  EXPECT_TRUE(torch::equal(flatten_linear_layer(x, *layer), expected));
  PreparedWeights weights;
  FrozenWeightsScope frozen(weights);
  torch::Tensor with_gradient = flatten_linear_layer(x, *layer);
  EXPECT_TRUE(with_gradient.requires_grad());
  EXPECT_TRUE(torch::equal(with_gradient, expected));
}

// A channels-last input in a FrozenWeightsScope is read as it lies, against the weight's
// columns reordered: the same products as the layer's on the flattened input. One row and
// several, each twice (the second time with the kept weight); then, in the same scope, other
// channel counts (the reordered columns depend on them) and channels-first inputs, which are
// flattened as they are.
TEST(LinearLayerTest, FlattenedInputsInAScopeEqualForward) {
  torch::manual_seed(6);
  torch::nn::Linear layer(3 * 4 * 5, 7);
  torch::NoGradGuard no_grad;
  PreparedWeights weights;
  FrozenWeightsScope frozen(weights);
  using Shape = std::vector<std::int64_t>;
  for (Shape shape : {Shape{1, 3, 4, 5}, {1, 3, 4, 5}, {3, 3, 4, 5}, {3, 3, 4, 5}, {2, 5, 3, 4}}) {
    for (auto format : {torch::MemoryFormat::ChannelsLast, torch::MemoryFormat::Contiguous}) {
      torch::Tensor x = torch::randn(shape).contiguous(format);
      torch::Tensor expected = layer->forward(x.flatten(/*start_dim=*/1));
      torch::Tensor got = flatten_linear_layer(x, *layer);
      ASSERT_EQ(got.sizes(), expected.sizes());
      EXPECT_TRUE(torch::allclose(got, expected, /*rtol=*/1e-5, /*atol=*/1e-6));
    }
  }
}

}  // namespace
}  // namespace fmnist
