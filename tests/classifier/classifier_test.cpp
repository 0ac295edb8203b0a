#include "fmnist/classifier/classifier.hpp"

#include <gtest/gtest.h>

#include "fmnist/model/checkpoint.hpp"
#include "fmnist/model/inference.hpp"
#include "fmnist/predict/predict.hpp"
#include "test_util.hpp"

namespace fmnist {
namespace {

using testing::TempDir;

// The API classifies as predict does: the same classes and probabilities for a file, its
// bytes and its pixels, and the same as the model's own softmax.
TEST(ClassifierTest, FileBytesAndPixelsGiveWhatPredictGives) {
  TempDir dir;
  testing::save_fresh_checkpoint(dir / "model.pt", /*seed=*/3);
  testing::SyntheticSplit split = testing::make_split(/*count=*/1, /*seed=*/5);
  torch::Tensor pixels = split.images[0].contiguous();  // uint8 [28, 28]
  std::string png = testing::png_bytes(pixels.unsqueeze(2));
  testing::write_bytes(dir / "item.png", png);

  Classifier classifier(dir / "model.pt", ClassifierOptions{"cpu", /*threads=*/1, false});
  EXPECT_EQ(classifier.arch(), kCnnArch);
  ASSERT_EQ(classifier.class_names().size(), 10u);
  std::vector<ClassScore> from_file = classifier.classify_file(dir / "item.png", /*top_k=*/3);
  std::vector<ClassScore> from_bytes = classifier.classify_encoded(png, /*top_k=*/3);
  std::vector<ClassScore> from_pixels =
      classifier.classify_pixels(pixels.data_ptr<std::uint8_t>(), 28, 28, /*top_k=*/3);
  ASSERT_EQ(from_file.size(), 3u);

  Checkpoint checkpoint = load_checkpoint(dir / "model.pt", torch::kCPU);
  InferenceModel model(checkpoint.model);
  auto expected = classify(model, pixels.to(torch::kFloat32).div(255).view({1, 1, 28, 28}), 3);
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(from_file[k].label, expected[0][k].label);
    EXPECT_NEAR(from_file[k].probability, expected[0][k].probability, 1e-6);
    EXPECT_EQ(from_bytes[k].label, from_file[k].label);
    EXPECT_EQ(from_pixels[k].label, from_file[k].label);
    EXPECT_DOUBLE_EQ(from_pixels[k].probability, from_file[k].probability);
  }
  EXPECT_GE(from_file[0].probability, from_file[1].probability);
}

TEST(ClassifierTest, BadInputsThrowOurErrors) {
  TempDir dir;
  EXPECT_THROW(Classifier(dir / "missing.pt"), CheckpointError);
  testing::save_fresh_checkpoint(dir / "model.pt", /*seed=*/3);
  Classifier classifier(dir / "model.pt", ClassifierOptions{"cpu", /*threads=*/1, false});
  EXPECT_THROW(classifier.classify_encoded("not an image"), ImageError);
  EXPECT_THROW(classifier.classify_file(dir / "missing.png"), Error);
  std::uint8_t black[4] = {0, 0, 0, 0};
  EXPECT_THROW(classifier.classify_pixels(black, 2, 2), ImageError);  // no item
  EXPECT_THROW(classifier.classify_pixels(black, 2, 2, /*top_k=*/11), UsageError);
  EXPECT_THROW(classifier.classify_pixels(nullptr, 2, 2), UsageError);
}

}  // namespace
}  // namespace fmnist
