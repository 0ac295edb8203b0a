#include "fmnist/train.hpp"

#include <gtest/gtest.h>

#include "fmnist/error.hpp"
#include "fmnist/evaluate.hpp"
#include "test_util.hpp"

namespace fmnist {
namespace {

using testing::TempDir;

class TrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_dataset(data_.path(), /*train_count=*/400, /*test_count=*/100);
  }

  TrainOptions options(const std::string& out, std::int64_t epochs) const {
    TrainOptions o;
    o.epochs = epochs;
    o.batch_size = 32;
    o.data_dir = data_.path().string();
    o.out = (out_ / out).string();
    o.device = "cpu";
    o.threads = 1;
    return o;
  }

  TempDir data_, out_;
};

std::vector<torch::Tensor> weights(const std::string& path) {
  std::vector<torch::Tensor> result;
  for (const auto& p : load_checkpoint(path, torch::kCPU).model->parameters()) result.push_back(p);
  return result;
}

bool same_weights(const std::string& a, const std::string& b) {
  auto wa = weights(a), wb = weights(b);
  for (std::size_t i = 0; i < wa.size(); ++i) {
    if (!torch::equal(wa[i], wb[i])) return false;
  }
  return true;
}

TEST_F(TrainTest, LearnsTheSyntheticSetAndSavesAMatchingCheckpoint) {
  TrainResult result = train(options("model.pt", 5));
  EXPECT_EQ(result.epochs, 5);
  EXPECT_GT(result.metrics.test.accuracy, 0.9);
  Checkpoint checkpoint = load_checkpoint(out_ / "model.pt", torch::kCPU);
  EXPECT_EQ(checkpoint.epoch, 5);
  EXPECT_DOUBLE_EQ(checkpoint.metrics.test.accuracy, result.metrics.test.accuracy);
  // eval on the saved checkpoint reports the accuracy training reported.
  Dataset test = load_dataset(data_.path(), Split::kTest);
  EXPECT_DOUBLE_EQ(evaluate(checkpoint.model, test).metrics.accuracy, result.metrics.test.accuracy);
}

TEST_F(TrainTest, SameSeedGivesSameWeights) {
  train(options("a.pt", 1));
  train(options("b.pt", 1));
  EXPECT_TRUE(same_weights((out_ / "a.pt").string(), (out_ / "b.pt").string()));
  TrainOptions other = options("c.pt", 1);
  other.seed = 43;
  train(other);
  EXPECT_FALSE(same_weights((out_ / "a.pt").string(), (out_ / "c.pt").string()));
}

TEST_F(TrainTest, ResumedRunEndsWithUninterruptedWeights) {
  train(options("full.pt", 3));
  train(options("part.pt", 1));
  TrainOptions resumed = options("part.pt", 3);
  resumed.resume = resumed.out;
  TrainResult result = train(resumed);
  EXPECT_EQ(result.epochs, 3);
  EXPECT_EQ(result.epochs_run, 2);
  EXPECT_TRUE(same_weights((out_ / "full.pt").string(), (out_ / "part.pt").string()));
}

TEST_F(TrainTest, ResumeKeepsTheRunsSettings) {
  TrainOptions first = options("seeded.pt", 3);
  first.seed = 7;
  first.batch_size = 16;
  train(first);
  TrainOptions part = first;
  part.out = (out_ / "seeded-part.pt").string();
  part.epochs = 1;
  train(part);
  TrainOptions resumed = options("seeded-part.pt", 3);  // default seed and batch size
  resumed.resume = resumed.out;
  train(resumed);
  Checkpoint checkpoint = load_checkpoint(resumed.out, torch::kCPU);
  EXPECT_EQ(checkpoint.settings.seed, 7);
  EXPECT_EQ(checkpoint.settings.batch_size, 16);
  EXPECT_TRUE(same_weights(first.out, resumed.out));
}

TEST_F(TrainTest, RejectsResumingAFinishedRun) {
  train(options("done.pt", 1));
  TrainOptions again = options("done.pt", 1);
  again.resume = again.out;
  EXPECT_THROW(train(again), UsageError);
}

TEST_F(TrainTest, RejectsBadOptionsBeforeLoadingData) {
  TrainOptions bad = options("x.pt", 0);
  EXPECT_THROW(train(bad), UsageError);
  bad = options("x.pt", 1);
  bad.batch_size = -1;
  EXPECT_THROW(train(bad), UsageError);
  bad = options("x.pt", 1);
  bad.out = (out_ / "missing-dir" / "x.pt").string();
  EXPECT_THROW(train(bad), UsageError);
  bad = options("x.pt", 1);
  bad.device = "tpu";
  EXPECT_THROW(train(bad), UsageError);
}

TEST_F(TrainTest, DivergingLossStopsWithAClearError) {
  TrainOptions wild = options("wild.pt", 2);
  wild.learning_rate = 1e30;
  try {
    train(wild);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("training diverged"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fmnist
