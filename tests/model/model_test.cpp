#include "fmnist/model/model.hpp"

#include <gtest/gtest.h>

#include "fmnist/base/error.hpp"

namespace fmnist {
namespace {

TEST(ModelTest, HasTheTutorialsParameterCount) {
  Net model;
  EXPECT_EQ(count_parameters(*model), 225034);
}

TEST(ModelTest, MapsImagesToTenLogits) {
  Net model;
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
  Net model;
  for (const auto& item : model->named_parameters()) {
    if (item.key().find("bias") != std::string::npos) {
      EXPECT_EQ(item.value().abs().sum().item<float>(), 0.0f) << item.key();
    }
  }
}

// Pooling before ReLU is an optimisation; the network must equal the tutorial's order.
TEST(ModelTest, EqualsReluThenPoolReference) {
  torch::manual_seed(3);
  Net model;
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
  Net model;
  torch::Tensor x = torch::rand({8, 1, 28, 28});
  model->eval();
  EXPECT_TRUE(torch::equal(model->forward(x), model->forward(x)));
  model->train();
  EXPECT_FALSE(torch::equal(model->forward(x), model->forward(x)));
}

TEST(ModelTest, ChannelsLastKeepsValuesAndOutputs) {
  torch::manual_seed(4);
  Net model;
  model->eval();
  torch::Tensor x = torch::rand({3, 1, 28, 28});
  torch::Tensor before = model->forward(x);
  use_channels_last(*model);
  auto params = model->named_parameters();
  EXPECT_TRUE(params["conv2.weight"].is_contiguous(torch::MemoryFormat::ChannelsLast));
  // With one input channel only explicit NHWC strides make oneDNN produce NHWC activations.
  EXPECT_EQ(params["conv1.weight"].stride(1), 1);
  EXPECT_EQ(params["conv1.weight"].stride(0), 9);
  EXPECT_TRUE(torch::allclose(model->forward(x), before, /*rtol=*/1e-5, /*atol=*/1e-6));
}

TEST(ModelTest, BatchNormVariantAddsBn1Bn2Bn3) {
  Net model(kCnnBnArch);
  EXPECT_EQ(count_parameters(*model), 225034 + 2 * (32 + 64 + 128));
  auto children = model->named_children();
  ASSERT_NE(children.find("bn1"), nullptr);
  EXPECT_EQ(children["bn1"]->name(), "torch::nn::BatchNorm2dImpl");
  EXPECT_EQ(children["bn2"]->name(), "torch::nn::BatchNorm2dImpl");
  EXPECT_EQ(children["bn3"]->name(), "torch::nn::BatchNorm1dImpl");
  EXPECT_EQ(Net()->named_children().find("bn1"), nullptr);
  EXPECT_THROW(Net("resnet50"), UsageError);
}

// Same seed, same conv and dense weights: batch norm does not shift the default's draws.
TEST(ModelTest, BatchNormVariantSharesTheDefaultsInitialWeights) {
  torch::manual_seed(11);
  Net plain;
  torch::manual_seed(11);
  Net with_bn(kCnnBnArch);
  auto bn_params = with_bn->named_parameters();
  for (const auto& item : plain->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), bn_params[item.key()])) << item.key();
  }
}

// bn1/bn2 sit between conv and pool+ReLU, bn3 between fc1 and its ReLU.
TEST(ModelTest, BatchNormVariantEqualsItsReference) {
  torch::manual_seed(4);
  Net model(kCnnBnArch);
  model->train();
  model->forward(torch::rand({16, 1, 28, 28}));  // move the running statistics off 0 and 1
  model->eval();
  auto params = model->named_parameters();
  auto buffers = model->named_buffers();
  auto norm = [&](const torch::Tensor& in, const std::string& name) {
    return torch::batch_norm(in, params[name + ".weight"], params[name + ".bias"],
                             buffers[name + ".running_mean"], buffers[name + ".running_var"],
                             /*training=*/false, /*momentum=*/0.1, /*eps=*/1e-5,
                             /*cudnn_enabled=*/false);
  };
  torch::Tensor x = torch::rand({4, 1, 28, 28});
  torch::Tensor h = torch::conv2d(x, params["conv1.weight"], params["conv1.bias"]);
  h = torch::relu(torch::max_pool2d(norm(h, "bn1"), 2));
  h = torch::conv2d(h, params["conv2.weight"], params["conv2.bias"]);
  h = torch::relu(torch::max_pool2d(norm(h, "bn2"), 2)).flatten(1);
  h = torch::relu(norm(torch::linear(h, params["fc1.weight"], params["fc1.bias"]), "bn3"));
  torch::Tensor expected = torch::linear(h, params["fc2.weight"], params["fc2.bias"]);
  EXPECT_TRUE(torch::allclose(model->forward(x), expected, /*rtol=*/1e-5, /*atol=*/1e-5));
}

TEST(ModelTest, ResNetMapsImagesToTenLogitsWithItsParameterCount) {
  Net model(kResNetArch);
  // stem 432, stages 14,528 + 57,728 + 230,144, fc 1,290 (ResNetLayout)
  EXPECT_EQ(count_parameters(*model), 304122);
  EXPECT_FALSE(model->has_dropout());
  model->eval();
  EXPECT_EQ(model->forward(torch::rand({3, 1, 28, 28})).sizes(),
            (std::vector<std::int64_t>{3, kNumClasses}));
}

TEST(ModelTest, ResNetStagesHalveTheSide) {
  Net model(kResNetArch);
  model->eval();
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> steps;
  model->forward(torch::rand({2, 1, 28, 28}), /*dropout_mask=*/{},
                 [&](const std::string& step, const torch::Tensor& output) {
                   steps.emplace_back(step, output.sizes().vec());
                 });
  ASSERT_EQ(steps.size(), 6u);
  EXPECT_EQ(steps[0].second, (std::vector<std::int64_t>{2, 16, 28, 28}));
  EXPECT_EQ(steps[1].second, (std::vector<std::int64_t>{2, 32, 14, 14}));
  EXPECT_EQ(steps[2].second, (std::vector<std::int64_t>{2, 64, 7, 7}));
  EXPECT_EQ(steps[3].second, (std::vector<std::int64_t>{2, 128, 4, 4}));
  EXPECT_EQ(steps[4].first, "pool");
  EXPECT_EQ(steps[5].second, (std::vector<std::int64_t>{2, kNumClasses}));
}

// Channels-last weights (training on the CPU) change the memory order, not the function.
TEST(ModelTest, ResNetGivesTheSameLogitsInChannelsLast) {
  torch::manual_seed(5);
  Net model(kResNetArch);
  model->eval();
  torch::Tensor x = torch::rand({4, 1, 28, 28});
  torch::Tensor expected = model->forward(x);
  use_channels_last(*model);
  EXPECT_TRUE(torch::allclose(model->forward(x), expected, /*rtol=*/1e-4, /*atol=*/1e-5));
}

}  // namespace
}  // namespace fmnist
