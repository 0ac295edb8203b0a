#include "fmnist/model/inference.hpp"

#include <gtest/gtest.h>

namespace fmnist {
namespace {

// With a gradient recorded, forward() runs LibTorch's second convolution and matrix products,
// not the inference kernels (Winograd, the one-row product) that InferenceModel takes.
torch::Tensor reference_logits(Net& model, const torch::Tensor& inputs) {
  model->eval();
  return model->forward(inputs).detach();
}

TEST(InferenceModelTest, EqualsForwardOnTheCpu) {
  torch::manual_seed(5);
  Net model;
  torch::Tensor inputs = torch::rand({37, 1, kImageSize, kImageSize});
  InferenceModel inference(model);
  EXPECT_TRUE(torch::allclose(inference.logits(inputs), reference_logits(model, inputs),
                              /*rtol=*/1e-4, /*atol=*/1e-5));
}

// One image takes the one-row matrix-vector product in the fully connected layers.
TEST(InferenceModelTest, EqualsForwardForOneImage) {
  torch::manual_seed(8);
  Net model;
  torch::Tensor input = torch::rand({1, 1, kImageSize, kImageSize});
  EXPECT_TRUE(torch::allclose(InferenceModel(model).logits(input), reference_logits(model, input),
                              /*rtol=*/1e-4, /*atol=*/1e-5));
}

// The kernels keep the forms they make of the weights for the InferenceModel's life only:
// evaluation during training builds a new one after the optimiser wrote the weights in place
// through their data pointers, which bumps no version counter.
TEST(InferenceModelTest, ANewOneSeesWeightsWrittenInPlace) {
  torch::manual_seed(9);
  Net model;
  torch::Tensor inputs = torch::rand({3, 1, kImageSize, kImageSize});
  torch::Tensor before = InferenceModel(model).logits(inputs);
  for (torch::Tensor& parameter : model->parameters()) {
    float* data = parameter.data_ptr<float>();
    for (std::int64_t i = 0; i < parameter.numel(); ++i) data[i] *= 1.5f;
  }
  torch::Tensor after = InferenceModel(model).logits(inputs);
  EXPECT_FALSE(torch::allclose(before, after));
  EXPECT_TRUE(
      torch::allclose(after, reference_logits(model, inputs), /*rtol=*/1e-4, /*atol=*/1e-5));
}

// With batch norm, fc1 follows bn2 and the pooling: the same kernels, the same logits.
TEST(InferenceModelTest, EqualsForwardWithBatchNorm) {
  torch::manual_seed(10);
  Net model(kCnnBnArch);
  model->train();
  model->forward(torch::rand({8, 1, kImageSize, kImageSize}));  // running statistics not 0/1
  for (std::int64_t images : {1, 5}) {
    torch::Tensor inputs = torch::rand({images, 1, kImageSize, kImageSize});
    EXPECT_TRUE(torch::allclose(InferenceModel(model).logits(inputs),
                                reference_logits(model, inputs), /*rtol=*/1e-4, /*atol=*/1e-5));
  }
}

// A batch runs in slices, several per thread, which must come back whole and in order; 203
// images on 3 threads make 9 slices, the last ones shorter.
TEST(InferenceModelTest, SlicesOnSeveralThreadsEqualForward) {
  torch::manual_seed(7);
  Net model;
  torch::Tensor inputs = torch::rand({203, 1, kImageSize, kImageSize});
  const int threads = torch::get_num_threads();
  torch::set_num_threads(3);
  torch::Tensor logits = InferenceModel(model).logits(inputs);
  torch::set_num_threads(threads);
  ASSERT_EQ(logits.sizes(), (std::vector<std::int64_t>{203, kNumClasses}));
  EXPECT_TRUE(torch::allclose(logits, reference_logits(model, inputs), /*rtol=*/1e-4,
                              /*atol=*/1e-5));
}

TEST(InferenceModelTest, EqualsForwardWithChannelsLastWeights) {
  torch::manual_seed(6);
  Net model;
  torch::Tensor inputs = torch::rand({3, 1, kImageSize, kImageSize});
  torch::Tensor expected = reference_logits(model, inputs);
  use_channels_last(*model);
  EXPECT_TRUE(torch::allclose(InferenceModel(model).logits(inputs), expected, /*rtol=*/1e-4,
                              /*atol=*/1e-5));
}

TEST(InferenceModelTest, SetsTheModelToEvalMode) {
  Net model;
  model->train();
  InferenceModel inference(model);
  EXPECT_FALSE(model->is_training());
}

TEST(InferenceModelTest, TtaIsTheMeanOfTheImagesAndTheirMirrorsLogits) {
  for (const char* arch : {kCnnArch, kResNetArch}) {
    torch::manual_seed(7);
    Net model(arch);
    torch::Tensor inputs = torch::rand({5, 1, kImageSize, kImageSize});
    torch::Tensor expected =
        (reference_logits(model, inputs) + reference_logits(model, inputs.flip({3}))) / 2;
    EXPECT_TRUE(torch::allclose(InferenceModel(model, /*mirror_average=*/true).logits(inputs),
                                expected, /*rtol=*/1e-4, /*atol=*/1e-5))
        << arch;
  }
}

}  // namespace
}  // namespace fmnist
