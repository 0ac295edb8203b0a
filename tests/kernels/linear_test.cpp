#include "fmnist/kernels/linear.hpp"

#include <gtest/gtest.h>

namespace fmnist {
namespace {

TEST(LinearLayerTest, OneRowWithoutGradientEqualsForward) {
  torch::manual_seed(4);
  torch::nn::Linear layer(40, 7);
  torch::Tensor x = torch::randn({1, 40});
  torch::Tensor expected = layer->forward(x).detach();
  torch::NoGradGuard no_grad;
  torch::Tensor row = linear_layer(x, *layer);
  ASSERT_EQ(row.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(row, expected, /*rtol=*/1e-5, /*atol=*/1e-6));
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

}  // namespace
}  // namespace fmnist
