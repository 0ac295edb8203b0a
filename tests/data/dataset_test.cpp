#include "fmnist/data/dataset.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "fmnist/base/error.hpp"
#include "test_util.hpp"

namespace fmnist {
namespace {

using testing::TempDir;

std::string dataset_load_error(const std::filesystem::path& dir) {
  try {
    load_dataset(dir, Split::kTest);
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

TEST(DatasetTest, LoadsGzipAndRawSplits) {
  TempDir dir;
  testing::write_split(dir.path(), "train", testing::make_split(30, 1), /*gzipped=*/true);
  testing::write_split(dir.path(), "t10k", testing::make_split(20, 2), /*gzipped=*/false);
  Dataset train = load_dataset(dir.path(), Split::kTrain);
  Dataset test = load_dataset(dir.path(), Split::kTest);
  EXPECT_EQ(train.images.sizes(), (std::vector<std::int64_t>{30, 1, 28, 28}));
  EXPECT_EQ(train.labels.scalar_type(), torch::kInt64);
  EXPECT_EQ(test.size(), 20);
  EXPECT_EQ(test.labels[13].item<int>(), 3);
}

TEST(DatasetTest, ModelInputIsScaledToUnitRange) {
  torch::Tensor images = torch::tensor({0, 51, 255}, torch::kUInt8).view({1, 1, 1, 3});
  torch::Tensor input = to_model_input(images);
  EXPECT_EQ(input.scalar_type(), torch::kFloat32);
  EXPECT_FLOAT_EQ(input[0][0][0][1].item<float>(), 0.2f);
  EXPECT_FLOAT_EQ(input[0][0][0][2].item<float>(), 1.0f);
}

TEST(DatasetTest, RejectsCountMismatch) {
  TempDir dir;
  auto split = testing::make_split(20, 1);
  split.labels = split.labels.slice(0, 0, 19);
  testing::write_split(dir.path(), "t10k", split, /*gzipped=*/true);
  std::string message = dataset_load_error(dir.path());
  EXPECT_NE(message.find("t10k-labels-idx1-ubyte.gz: 19 labels but 20 images"), std::string::npos)
      << message;
}

TEST(DatasetTest, RejectsLabelOutOfRange) {
  TempDir dir;
  auto split = testing::make_split(20, 1);
  split.labels[7] = 12;
  testing::write_split(dir.path(), "t10k", split, /*gzipped=*/false);
  std::string message = dataset_load_error(dir.path());
  EXPECT_NE(message.find("label 12 at index 7 is outside 0..9"), std::string::npos) << message;
}

TEST(DatasetTest, RejectsImagesOfAnotherSize) {
  TempDir dir;
  testing::SyntheticSplit split{torch::zeros({4, 32, 32}, torch::kUInt8),
                                torch::zeros({4}, torch::kUInt8)};
  testing::write_split(dir.path(), "t10k", split, /*gzipped=*/false);
  EXPECT_NE(dataset_load_error(dir.path()).find("images are 32x32, the model needs 28x28"),
            std::string::npos);
}

TEST(DatasetTest, MissingLabelsFileSaysWhatAndHow) {
  TempDir dir;
  testing::write_split(dir.path(), "t10k", testing::make_split(10, 1), /*gzipped=*/false);
  std::filesystem::remove(dir / "t10k-labels-idx1-ubyte");
  std::string message = dataset_load_error(dir.path());
  EXPECT_NE(message.find("t10k-labels-idx1-ubyte[.gz]: not found"), std::string::npos);
  EXPECT_NE(message.find("apt-get install dataset-fashion-mnist"), std::string::npos);
}

TEST(DatasetTest, DataDirPrefersFlagThenEnvironment) {
  TempDir flag_dir, env_dir;
  testing::write_dataset(flag_dir.path(), 10, 10);
  testing::write_dataset(env_dir.path(), 10, 10);
  setenv("FMNIST_DATA", env_dir.path().c_str(), 1);
  EXPECT_EQ(resolve_data_dir(flag_dir.path().string()), flag_dir.path());
  EXPECT_EQ(resolve_data_dir(std::nullopt), env_dir.path());
  unsetenv("FMNIST_DATA");
}

TEST(DatasetTest, ExplicitDataDirWithoutDataIsAnError) {
  TempDir empty;
  try {
    resolve_data_dir(empty.path().string());
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("--data " + empty.path().string() + ": holds no"),
              std::string::npos)
        << e.what();
  }
}

TEST(DatasetTest, ParsesSplitNames) {
  EXPECT_EQ(parse_split("train"), Split::kTrain);
  EXPECT_EQ(parse_split("test"), Split::kTest);
  EXPECT_THROW(parse_split("validation"), UsageError);
}

}  // namespace
}  // namespace fmnist
