#include "fmnist/model.hpp"

#include <gtest/gtest.h>

namespace fmnist {
namespace {

TEST(ModelTest, HasTheTutorialsParameterCount) {
  Cnn model;
  EXPECT_EQ(count_parameters(*model), 225034);
}

TEST(ModelTest, MapsImagesToTenLogits) {
  Cnn model;
  model->eval();
  torch::Tensor logits = model->forward(torch::rand({5, 1, 28, 28}));
  EXPECT_EQ(logits.sizes(), (std::vector<std::int64_t>{5, kNumClasses}));
}

TEST(ModelTest, HasTenClassNames) {
  ASSERT_EQ(fashion_class_names().size(), static_cast<std::size_t>(kNumClasses));
  EXPECT_EQ(fashion_class_names()[8], "Bag");
  EXPECT_EQ(fashion_class_names()[9], "Ankle boot");
}

TEST(ModelTest, KerasInitialisationHasZeroBiases) {
  Cnn model;
  for (const auto& item : model->named_parameters()) {
    if (item.key().find("bias") != std::string::npos) {
      EXPECT_EQ(item.value().abs().sum().item<float>(), 0.0f) << item.key();
    }
  }
}

// Pooling before ReLU is an optimisation; the network must equal the tutorial's order.
TEST(ModelTest, EqualsReluThenPoolReference) {
  torch::manual_seed(3);
  Cnn model;
  model->eval();
  torch::Tensor x = torch::rand({4, 1, 28, 28});
  auto params = model->named_parameters();
  auto conv = [&](const torch::Tensor& in, const std::string& name) {
    return torch::conv2d(in, params[name + ".weight"], params[name + ".bias"]);
  };
  torch::Tensor h = torch::max_pool2d(torch::relu(conv(x, "conv1")), 2);
  h = torch::max_pool2d(torch::relu(conv(h, "conv2")), 2).flatten(1);
  h = torch::relu(torch::linear(h, params["fc1.weight"], params["fc1.bias"]));
  torch::Tensor expected = torch::linear(h, params["fc2.weight"], params["fc2.bias"]);
  EXPECT_TRUE(torch::allclose(model->forward(x), expected, /*rtol=*/1e-5, /*atol=*/1e-6));
}

TEST(ModelTest, DropoutOnlyInTraining) {
  Cnn model;
  torch::Tensor x = torch::rand({8, 1, 28, 28});
  model->eval();
  EXPECT_TRUE(torch::equal(model->forward(x), model->forward(x)));
  model->train();
  EXPECT_FALSE(torch::equal(model->forward(x), model->forward(x)));
}

TEST(ModelTest, ChannelsLastKeepsValuesAndOutputs) {
  torch::manual_seed(4);
  Cnn model;
  model->eval();
  torch::Tensor x = torch::rand({3, 1, 28, 28});
  torch::Tensor before = model->forward(x);
  use_channels_last(*model);
  auto params = model->named_parameters();
  EXPECT_TRUE(params["conv2.weight"].is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(torch::allclose(model->forward(x), before, /*rtol=*/1e-5, /*atol=*/1e-6));
}

}  // namespace
}  // namespace fmnist
