#include "fmnist/train/train.hpp"

#include <gtest/gtest.h>

#include "fmnist/base/error.hpp"
#include "fmnist/eval/evaluate.hpp"
#include "fmnist/train/history_csv.hpp"
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

// Label smoothing reaches the loss: the same run with it ends with other weights and a higher
// training loss (smoothed targets keep the loss away from 0).
TEST_F(TrainTest, LabelSmoothingChangesTheLoss) {
  TrainResult plain = train(options("plain.pt", 2));
  TrainOptions smoothed = options("smoothed.pt", 2);
  smoothed.label_smoothing = 0.3;
  TrainResult result = train(smoothed);
  EXPECT_FALSE(same_weights((out_ / "plain.pt").string(), (out_ / "smoothed.pt").string()));
  EXPECT_GT(result.metrics.train.loss, plain.metrics.train.loss + 0.1);
}

// With --val test the best epoch was chosen on the test set, and the result line says so.
TEST(TrainResultTest, NamesTheSplitTheBestEpochWasChosenOn) {
  TrainResult result;
  result.out = "m.pt";
  result.epochs = 2;
  result.best_epoch = 2;
  result.best_accuracy = 0.9;
  EXPECT_NE(format_train_result(result).find("best validation accuracy 90.00% at epoch 2"),
            std::string::npos);
  result.validation = kValidateOnTest;
  EXPECT_NE(format_train_result(result).find("best test accuracy 90.00% at epoch 2"),
            std::string::npos);
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

// --clean-epochs: the last epochs see the images as they are, whatever --augment and --erasing
// say; the epochs before them do not.
TEST_F(TrainTest, CleanEpochsTrainOnTheImagesAsTheyAre) {
  train(options("plain.pt", 1));
  TrainOptions clean = options("clean.pt", 1);
  clean.augment = true;
  clean.erasing = 0.5;
  clean.clean_epochs = 1;
  train(clean);
  EXPECT_TRUE(same_weights((out_ / "plain.pt").string(), (out_ / "clean.pt").string()));
  TrainOptions augmented = clean;
  augmented.out = (out_ / "augmented.pt").string();
  augmented.clean_epochs = 0;
  train(augmented);
  EXPECT_FALSE(same_weights((out_ / "plain.pt").string(), (out_ / "augmented.pt").string()));
  EXPECT_EQ(load_checkpoint(out_ / "clean.pt", torch::kCPU).settings.clean_epochs, 1);
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
  TrainOptions resumed = options("seeded-part.pt", 3);  // default seed, no --batch-size
  resumed.batch_size.reset();
  resumed.resume = resumed.out;
  train(resumed);
  Checkpoint checkpoint = load_checkpoint(*resumed.out, torch::kCPU);
  EXPECT_EQ(checkpoint.settings.seed, 7);
  EXPECT_EQ(checkpoint.settings.batch_size, 16);
  EXPECT_TRUE(same_weights(*first.out, *resumed.out));
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
  testing::write_bytes(out_ / "a-file", "x");
  bad.out = (out_ / "a-file" / "x.pt").string();  // a directory that cannot be made
  EXPECT_THROW(train(bad), UsageError);
  bad = options("x.pt", 1);
  bad.device = "tpu";
  EXPECT_THROW(train(bad), UsageError);
}

// A new run refuses to replace another run's model or epoch files, naming what is there;
// --force replaces them, and a resumed run writes over its own.
TEST_F(TrainTest, NewRunRefusesToReplaceAModelWithoutForce) {
  train(options("kept.pt", 1));
  std::string message;
  try {
    train(options("kept.pt", 1));
  } catch (const UsageError& e) {
    message = e.what();
  }
  EXPECT_EQ(message.rfind((out_ / "kept.pt").string() + " exists: epoch 1, test accuracy ", 0), 0u)
      << message;
  EXPECT_NE(message.find("; use --force to replace it, or --out PATH"), std::string::npos);
  std::filesystem::remove(out_ / "kept.pt");  // the epoch files alone are refused too
  EXPECT_THROW(train(options("kept.pt", 1)), UsageError);

  TrainOptions forced = options("kept.pt", 1);
  forced.force = true;
  forced.seed = 5;
  EXPECT_NO_THROW(train(forced));
  EXPECT_EQ(load_checkpoint(out_ / "kept.pt", torch::kCPU).settings.seed, 5);
  TrainOptions resumed = options("kept.pt", 2);
  resumed.resume = resumed.out;
  EXPECT_NO_THROW(train(resumed));
}

// A flag that would change a resumed run's settings is refused by name; its own values are not.
TEST_F(TrainTest, ResumeRefusesFlagsThatWouldChangeTheRun) {
  TrainOptions first = options("run.pt", 1);
  first.arch = kCnnBnArch;
  train(first);
  TrainOptions resumed = options("run.pt", 2);
  resumed.resume = resumed.out;
  resumed.learning_rate = 0.1;
  resumed.arch = kCnnArch;
  resumed.seed = 3;
  resumed.clean_epochs = 1;
  std::string message;
  try {
    train(resumed);
  } catch (const UsageError& e) {
    message = e.what();
  }
  EXPECT_EQ(message,
            "--resume " + *resumed.out +
                ": --arch, --lr, --clean-epochs, --seed would change the run's settings, which a "
                "resumed run keeps ('fmnist info " +
                *resumed.out + "' shows them); drop the flag or start a new run");
  resumed.learning_rate = 1e-3;  // the run's own values
  resumed.arch = kCnnBnArch;
  resumed.seed = 42;
  resumed.clean_epochs = 0;
  EXPECT_NO_THROW(train(resumed));
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

// The test files exist but cannot be read: a run that validates on a held-out part of the
// training set must get through all its epochs before it finds out, one on the test set not.
TEST_F(TrainTest, HeldOutValidationReadsTheTestSetOnlyAfterTheLastEpoch) {
  testing::write_bytes(data_.path() / "t10k-images-idx3-ubyte.gz", "not gzip");
  TrainOptions held_out = options("held.pt", 2);
  EXPECT_THROW(train(held_out), DataError);
  EXPECT_EQ(load_checkpoint(checkpoint_files(held_out).last, torch::kCPU).epoch, 2);
  EXPECT_EQ(read_history_csv(checkpoint_files(held_out).history).size(), 2u);

  TrainOptions on_test = options("test.pt", 2);
  on_test.validation = kValidateOnTest;
  EXPECT_THROW(train(on_test), DataError);
  EXPECT_FALSE(std::filesystem::exists(checkpoint_files(on_test).last));
}

TEST_F(TrainTest, WritesHistoryAndKeepsTheBestValidationModel) {
  TrainOptions o = options("h.pt", 3);
  o.lr_schedule = kScheduleStep;
  o.step_size = 1;
  o.step_gamma = 0.5;
  TrainResult result = train(o);
  std::vector<EpochRecord> history = read_history_csv(checkpoint_files(o).history);
  ASSERT_EQ(history.size(), 3u);
  std::string plot = testing::read_bytes(checkpoint_files(o).history_plot);
  EXPECT_EQ(plot.rfind("\x89PNG", 0), 0u);
  EXPECT_DOUBLE_EQ(history[0].learning_rate, 1e-3);
  EXPECT_DOUBLE_EQ(history[2].learning_rate, 2.5e-4);
  double best = 0;
  for (const EpochRecord& record : history) best = std::max(best, record.val_accuracy);
  Checkpoint best_checkpoint = load_checkpoint(checkpoint_files(o).best, torch::kCPU);
  EXPECT_DOUBLE_EQ(best_checkpoint.metrics.val.accuracy, best);
  EXPECT_DOUBLE_EQ(result.best_accuracy, best);
  EXPECT_EQ(history[result.best_epoch - 1].val_accuracy, best);
  // 10% of each class held out, the test set measured once, on the final model.
  Dataset test = load_dataset(data_.path(), Split::kTest);
  Checkpoint final_checkpoint = load_checkpoint(*o.out, torch::kCPU);
  EXPECT_DOUBLE_EQ(evaluate(final_checkpoint.model, test).metrics.accuracy,
                   final_checkpoint.metrics.test.accuracy);
  EXPECT_EQ(final_checkpoint.settings.lr_schedule, kScheduleStep);
  EXPECT_DOUBLE_EQ(final_checkpoint.settings.val_split, 0.1);
}

TEST_F(TrainTest, ResumedRunWithEveryFeatureEndsWithUninterruptedWeights) {
  TrainOptions full = options("full-bn.pt", 3);
  full.arch = kCnnBnArch;
  full.augment = true;
  full.lr_schedule = kScheduleCosine;
  full.warmup_epochs = 1;
  full.weight_decay = 1e-4;
  train(full);
  TrainOptions part = full;
  part.out = (out_ / "part-bn.pt").string();
  part.epochs = 1;
  train(part);
  TrainOptions resumed = options("part-bn.pt", 3);  // the checkpoint's settings are kept
  resumed.resume = checkpoint_files(part).last.string();
  train(resumed);
  EXPECT_TRUE(same_weights(*full.out, *resumed.out));
  Checkpoint checkpoint = load_checkpoint(*resumed.out, torch::kCPU);
  EXPECT_EQ(checkpoint.arch, kCnnBnArch);
  EXPECT_TRUE(checkpoint.settings.augment);
  std::vector<EpochRecord> a = read_history_csv(checkpoint_files(full).history);
  std::vector<EpochRecord> b = read_history_csv(checkpoint_files(resumed).history);
  ASSERT_EQ(b.size(), 3u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(b[i].epoch, a[i].epoch);
    EXPECT_DOUBLE_EQ(b[i].learning_rate, a[i].learning_rate);
    EXPECT_DOUBLE_EQ(b[i].val_accuracy, a[i].val_accuracy);
  }
}

// SGD's momentum buffers travel in the checkpoint: a resumed run ends where an uninterrupted one
// does, and the optimizer is the one the run started with.
TEST_F(TrainTest, ResumedSgdRunEndsWithUninterruptedWeights) {
  TrainOptions full = options("full-sgd.pt", 2);
  full.optimizer = kOptimizerSgd;
  full.learning_rate = 0.05;
  full.weight_decay = 5e-4;
  train(full);
  TrainOptions part = full;
  part.out = (out_ / "part-sgd.pt").string();
  part.epochs = 1;
  train(part);
  TrainOptions resumed = options("part-sgd.pt", 2);
  resumed.resume = resumed.out;
  train(resumed);
  EXPECT_TRUE(same_weights(*full.out, *resumed.out));
  EXPECT_EQ(load_checkpoint(*resumed.out, torch::kCPU).settings.optimizer, kOptimizerSgd);
  TrainOptions adam = full;  // the optimizer is really SGD: Adam takes other steps
  adam.optimizer = kOptimizerAdam;
  adam.out = (out_ / "adam.pt").string();
  train(adam);
  EXPECT_FALSE(same_weights(*full.out, *adam.out));
}

TEST_F(TrainTest, ResumeStartsTheHistoryAfreshWhenItIsNotOurs) {
  TrainOptions first = options("odd.pt", 1);
  train(first);
  testing::write_bytes(checkpoint_files(first).history, "something else\n");
  TrainOptions resumed = options("odd.pt", 2);
  resumed.resume = first.out;
  train(resumed);
  std::vector<EpochRecord> history = read_history_csv(checkpoint_files(resumed).history);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].epoch, 2);
}

// The checkpoints store the run's data and output paths, absolute: `--resume LAST` alone
// continues the run in place, from any directory.
TEST_F(TrainTest, ResumeAloneContinuesTheRunInPlace) {
  TrainOptions first = options("run/inplace.pt", 1);
  first.checkpoint_dir = (out_ / "ck").string();
  train(first);
  TrainOptions resumed;
  resumed.resume = (out_ / "ck" / "inplace.last.pt").string();
  resumed.epochs = 2;
  resumed.device = "cpu";
  resumed.threads = 1;
  TrainOptions paths = with_run_paths(resumed);
  EXPECT_EQ(*paths.out, (out_ / "run" / "inplace.pt").string());
  EXPECT_EQ(*paths.checkpoint_dir, (out_ / "ck").string());
  EXPECT_EQ(*paths.data_dir, data_.path().string());
  train(resumed);
  EXPECT_EQ(load_checkpoint(out_ / "run" / "inplace.pt", torch::kCPU).epoch, 2);
  EXPECT_EQ(read_history_csv(out_ / "ck" / "inplace.history.csv").size(), 2u);
  EXPECT_FALSE(std::filesystem::exists(kDefaultOut));
  // Flags given still win.
  resumed.out = (out_ / "elsewhere.pt").string();
  EXPECT_EQ(*with_run_paths(resumed).out, *resumed.out);
}

// Resumed into another --out, the run's history still starts at epoch 1: the earlier rows come
// from where the run kept them.
TEST_F(TrainTest, ResumedElsewhereKeepsTheEarlierHistory) {
  TrainOptions first = options("first.pt", 1);
  train(first);
  TrainOptions moved = options("moved/second.pt", 2);
  moved.resume = checkpoint_files(first).last.string();
  train(moved);
  std::vector<EpochRecord> history = read_history_csv(checkpoint_files(moved).history);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].epoch, 1);
  EXPECT_EQ(history[1].epoch, 2);
  EXPECT_EQ(read_history_csv(checkpoint_files(first).history).size(), 1u);  // left as it was
}

TEST_F(TrainTest, PatienceStopsARunThatNoLongerImproves) {
  TrainOptions o = options("patient.pt", 10);
  o.learning_rate = 1e-12;  // the accuracy of epoch 1 is never beaten
  o.patience = 2;
  TrainResult result = train(o);
  EXPECT_EQ(result.epochs, 3);
  EXPECT_EQ(result.best_epoch, 1);
  EXPECT_EQ(load_checkpoint(*o.out, torch::kCPU).epoch, 3);
}

TEST_F(TrainTest, RejectsBadValidationAndScheduleOptions) {
  TrainOptions bad = options("x.pt", 2);
  bad.val_split = 1.5;
  EXPECT_THROW(train(bad), UsageError);
  bad = options("x.pt", 2);
  bad.lr_schedule = kScheduleCosine;
  bad.warmup_epochs = 3;
  EXPECT_THROW(train(bad), UsageError);
  bad = options("x.pt", 2);
  bad.weight_decay = -1;
  EXPECT_THROW(train(bad), UsageError);
}

}  // namespace
}  // namespace fmnist
