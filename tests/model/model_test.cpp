#include "fmnist/model/model.hpp"

#include <gtest/gtest.h>

#include "fmnist/base/error.hpp"

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
  // With one input channel only explicit NHWC strides make oneDNN produce NHWC activations.
  EXPECT_EQ(params["conv1.weight"].stride(1), 1);
  EXPECT_EQ(params["conv1.weight"].stride(0), 9);
  EXPECT_TRUE(torch::allclose(model->forward(x), before, /*rtol=*/1e-5, /*atol=*/1e-6));
}

TEST(ModelTest, BatchNormVariantAddsBn1Bn2Bn3) {
  Cnn model(kCnnBnArch);
  EXPECT_EQ(count_parameters(*model), 225034 + 2 * (32 + 64 + 128));
  auto children = model->named_children();
  ASSERT_NE(children.find("bn1"), nullptr);
  EXPECT_EQ(children["bn1"]->name(), "torch::nn::BatchNorm2dImpl");
  EXPECT_EQ(children["bn2"]->name(), "torch::nn::BatchNorm2dImpl");
  EXPECT_EQ(children["bn3"]->name(), "torch::nn::BatchNorm1dImpl");
  EXPECT_EQ(Cnn()->named_children().find("bn1"), nullptr);
  EXPECT_THROW(Cnn("resnet50"), UsageError);
}

// Same seed, same conv and dense weights: batch norm does not shift the default's draws.
TEST(ModelTest, BatchNormVariantSharesTheDefaultsInitialWeights) {
  torch::manual_seed(11);
  Cnn plain;
  torch::manual_seed(11);
  Cnn with_bn(kCnnBnArch);
  auto bn_params = with_bn->named_parameters();
  for (const auto& item : plain->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), bn_params[item.key()])) << item.key();
  }
}

// bn1/bn2 sit between conv and pool+ReLU, bn3 between fc1 and its ReLU.
TEST(ModelTest, BatchNormVariantEqualsItsReference) {
  torch::manual_seed(4);
  Cnn model(kCnnBnArch);
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

}  // namespace
}  // namespace fmnist
