#include "fmnist/kernels/relu.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace fmnist {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Without a gradient, in place: negatives become 0, NaN stays NaN, as relu_ does.
TEST(ReluTest, WithoutGradientEqualsRelu) {
  torch::NoGradGuard no_grad;
  for (auto type : {torch::kFloat, torch::kDouble}) {
    torch::Tensor x = torch::tensor({-2.0f, -0.0f, 0.5f, kNaN, 3.0f}).to(type);
    torch::Tensor expected = x.relu();
    torch::Tensor& result = relu_in_place(x);
    EXPECT_TRUE(result.is_same(x));
    EXPECT_TRUE(torch::equal(x.isnan(), expected.isnan()));
    EXPECT_TRUE(torch::equal(x.nan_to_num(), expected.nan_to_num()));
  }
}

// A non-contiguous tensor changes only its own elements.
TEST(ReluTest, StridedTensorChangesOnlyItsElements) {
  torch::NoGradGuard no_grad;
  torch::Tensor all = torch::tensor({-1.0f, -2.0f, -3.0f, -4.0f});
  torch::Tensor every_other = all.slice(/*dim=*/0, 0, 4, /*step=*/2);
  relu_in_place(every_other);
  EXPECT_TRUE(torch::equal(all, torch::tensor({0.0f, -2.0f, 0.0f, -4.0f})));
}

// Without grad mode, x still counts as changed: a graph that saved it refuses to run backward
// (relu_'s own check), rather than give a gradient from the new values.
TEST(ReluTest, WithoutGradModeAGraphThatSavedTheTensorSeesTheChange) {
  torch::Tensor weight = torch::tensor({1.0f, 2.0f}, torch::requires_grad());
  torch::Tensor x = torch::tensor({-1.0f, 1.0f});
  torch::Tensor product = (weight * x).sum();  // saves x
  {
    torch::NoGradGuard no_grad;
    relu_in_place(x);
  }
  EXPECT_THROW(product.backward(), c10::Error);
}

// An inference tensor may change only inside InferenceMode, as with relu_.
TEST(ReluTest, InferenceTensorOutsideInferenceModeIsRefused) {
  torch::Tensor x;
  {
    torch::InferenceMode inference;
    x = torch::tensor({-1.0f, 1.0f});
    relu_in_place(x);
    EXPECT_EQ(x[0].item<float>(), 0.0f);
  }
  torch::NoGradGuard no_grad;
  EXPECT_THROW(relu_in_place(x), c10::Error);
}

// With a gradient, autograd sees the ReLU: its gradient is 0 where the input was negative.
TEST(ReluTest, WithGradientKeepsAutograd) {
  torch::Tensor leaf = torch::tensor({-1.0f, 2.0f}, torch::requires_grad());
  torch::Tensor x = leaf * 1;
  relu_in_place(x).sum().backward();
  EXPECT_TRUE(torch::equal(leaf.grad(), torch::tensor({0.0f, 1.0f})));
}

}  // namespace
}  // namespace fmnist
