#include "fmnist/model/checkpoint.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "fmnist/base/error.hpp"
#include "test_util.hpp"

namespace fmnist {
namespace {

using testing::TempDir;

Checkpoint trained_checkpoint() {
  torch::manual_seed(7);
  Checkpoint checkpoint;
  checkpoint.epoch = 3;
  checkpoint.settings.epochs = 5;
  checkpoint.settings.batch_size = 64;
  checkpoint.settings.learning_rate = 0.002;
  checkpoint.settings.seed = 9;
  checkpoint.settings.data_dir = "/data";
  checkpoint.metrics.train = {0.5, 0.8};
  checkpoint.metrics.test = {0.6, 0.75};
  return checkpoint;
}

std::string load_error(const std::filesystem::path& path) {
  try {
    load_checkpoint(path, torch::kCPU);
  } catch (const CheckpointError& e) {
    return e.what();
  } catch (const Error& e) {
    return std::string("(not a CheckpointError) ") + e.what();
  }
  return "";
}

TEST(CheckpointTest, RoundTripGivesIdenticalLogitsAndMetadata) {
  TempDir dir;
  Checkpoint saved = trained_checkpoint();
  torch::optim::Adam optimizer(saved.model->parameters());
  save_checkpoint(dir / "model.pt", saved, &optimizer);
  Checkpoint loaded = load_checkpoint(dir / "model.pt", torch::kCPU);

  saved.model->eval();
  torch::Tensor x = torch::rand({3, 1, 28, 28});
  EXPECT_TRUE(torch::equal(saved.model->forward(x), loaded.model->forward(x)));
  EXPECT_EQ(loaded.epoch, 3);
  EXPECT_EQ(loaded.arch, "cnn");
  EXPECT_EQ(loaded.class_names, fashion_class_names());
  EXPECT_DOUBLE_EQ(loaded.pixel_scale, 1.0 / 255);
  EXPECT_EQ(loaded.settings.batch_size, 64);
  EXPECT_DOUBLE_EQ(loaded.settings.learning_rate, 0.002);
  EXPECT_EQ(loaded.settings.seed, 9);
  EXPECT_EQ(loaded.settings.data_dir, "/data");
  EXPECT_DOUBLE_EQ(loaded.metrics.test.accuracy, 0.75);
  EXPECT_FALSE(loaded.torch_version.empty());
  EXPECT_TRUE(loaded.optimizer_state);
  EXPECT_FALSE(loaded.model->is_training());
}

TEST(CheckpointTest, OptimizerStateIsOptional) {
  TempDir dir;
  save_checkpoint(dir / "model.pt", trained_checkpoint(), /*optimizer=*/nullptr);
  EXPECT_FALSE(load_checkpoint(dir / "model.pt", torch::kCPU).optimizer_state);
}

std::ptrdiff_t count_entries(const std::filesystem::path& dir) {
  return std::distance(std::filesystem::directory_iterator(dir),
                       std::filesystem::directory_iterator());
}

TEST(CheckpointTest, LeavesNoTemporaryFiles) {
  TempDir dir;
  save_checkpoint(dir / "model.pt", trained_checkpoint(), nullptr);
  save_checkpoint(dir / "model.pt", trained_checkpoint(), nullptr);
  EXPECT_EQ(count_entries(dir.path()), 1);
}

TEST(CheckpointTest, FailedWriteKeepsPreviousFile) {
  TempDir dir;
  std::filesystem::create_directory(dir / "model.pt");  // rename onto a directory fails
  EXPECT_THROW(save_checkpoint(dir / "model.pt", trained_checkpoint(), nullptr), Error);
  EXPECT_TRUE(std::filesystem::is_directory(dir / "model.pt"));
  EXPECT_THROW(save_checkpoint(dir / "missing" / "model.pt", trained_checkpoint(), nullptr), Error);
  EXPECT_EQ(count_entries(dir.path()), 1);
}

TEST(CheckpointTest, RejectsMissingAndEmptyFiles) {
  TempDir dir;
  testing::write_bytes(dir / "empty.pt", "");
  EXPECT_EQ(load_error(dir / "empty.pt"), (dir / "empty.pt").string() + ": file is empty");
  EXPECT_NE(load_error(dir / "none.pt").find("no such file"), std::string::npos);
  EXPECT_NE(load_error(dir.path()).find("is a directory"), std::string::npos);
}

TEST(CheckpointTest, RejectsRandomBytes) {
  TempDir dir;
  testing::write_bytes(dir / "random.pt", std::string(4096, '\x5a'));
  EXPECT_NE(load_error(dir / "random.pt").find("not a readable checkpoint"), std::string::npos);
}

TEST(CheckpointTest, RejectsTruncatedFile) {
  TempDir dir;
  save_checkpoint(dir / "model.pt", trained_checkpoint(), nullptr);
  std::string bytes = testing::read_bytes(dir / "model.pt");
  for (std::size_t keep : {bytes.size() / 10, bytes.size() / 2, bytes.size() - 10}) {
    testing::write_bytes(dir / "cut.pt", bytes.substr(0, keep));
    std::string message = load_error(dir / "cut.pt");
    EXPECT_NE(message.find((dir / "cut.pt").string() + ": "), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(CheckpointTest, RejectsForeignLibTorchArchive) {
  TempDir dir;
  torch::save(torch::ones({3}), (dir / "tensor.pt").string());
  EXPECT_NE(load_error(dir / "tensor.pt").find("not an fmnist checkpoint"), std::string::npos);
}

TEST(CheckpointTest, RejectsFutureFormatVersion) {
  TempDir dir;
  testing::save_checkpoint_with(dir / "future.pt", trained_checkpoint(), "version",
                                c10::IValue(std::int64_t{99}));
  EXPECT_NE(load_error(dir / "future.pt").find("format version 99 is not supported"),
            std::string::npos)
      << load_error(dir / "future.pt");
}

TEST(CheckpointTest, RejectsOtherArchitecture) {
  TempDir dir;
  testing::save_checkpoint_with(dir / "resnet.pt", trained_checkpoint(), "arch",
                                c10::IValue(std::string("resnet50")));
  EXPECT_NE(load_error(dir / "resnet.pt").find("architecture 'resnet50' is not supported"),
            std::string::npos)
      << load_error(dir / "resnet.pt");
}

TEST(CheckpointTest, RejectsWrongFieldType) {
  TempDir dir;
  testing::save_checkpoint_with(dir / "odd.pt", trained_checkpoint(), "epoch",
                                c10::IValue(std::string("three")));
  EXPECT_NE(load_error(dir / "odd.pt").find("'epoch' has the wrong type"), std::string::npos);
}

TEST(CheckpointTest, KeepsEveryTrainingSettingAndTheBatchNormArch) {
  TempDir dir;
  Checkpoint saved = trained_checkpoint();
  saved.arch = kCnnBnArch;
  saved.model = Cnn(kCnnBnArch);
  saved.settings.validation = kValidateOnSplit;
  saved.settings.val_split = 0.2;
  saved.settings.lr_schedule = "cosine";
  saved.settings.warmup_epochs = 2;
  saved.settings.step_size = 4;
  saved.settings.step_gamma = 0.5;
  saved.settings.weight_decay = 1e-4;
  saved.settings.patience = 3;
  saved.settings.augment = true;
  saved.settings.device = "cpu (2 threads)";
  saved.metrics.val = {0.4, 0.85};
  saved.best_epoch = 2;
  save_checkpoint(dir / "bn.pt", saved, nullptr);
  Checkpoint loaded = load_checkpoint(dir / "bn.pt", torch::kCPU);
  EXPECT_EQ(loaded.arch, kCnnBnArch);
  EXPECT_EQ(loaded.model->named_modules().size(), saved.model->named_modules().size());
  saved.model->eval();
  torch::Tensor x = torch::rand({3, 1, 28, 28});
  EXPECT_TRUE(torch::equal(saved.model->forward(x), loaded.model->forward(x)));
  const TrainSettings& s = loaded.settings;
  EXPECT_EQ(s.validation, kValidateOnSplit);
  EXPECT_DOUBLE_EQ(s.val_split, 0.2);
  EXPECT_EQ(s.lr_schedule, "cosine");
  EXPECT_EQ(s.warmup_epochs, 2);
  EXPECT_EQ(s.step_size, 4);
  EXPECT_DOUBLE_EQ(s.step_gamma, 0.5);
  EXPECT_DOUBLE_EQ(s.weight_decay, 1e-4);
  EXPECT_EQ(s.patience, 3);
  EXPECT_TRUE(s.augment);
  EXPECT_EQ(s.device, "cpu (2 threads)");
  EXPECT_DOUBLE_EQ(loaded.metrics.val.accuracy, 0.85);
  EXPECT_EQ(loaded.best_epoch, 2);
}

// Checkpoints written before the settings above existed load as what that fmnist did.
TEST(CheckpointTest, OlderCheckpointLoadsWithDefaults) {
  TempDir dir;
  const std::set<std::string> original = {"settings.epochs", "settings.batch_size",
                                          "settings.learning_rate", "settings.seed",
                                          "settings.data_dir"};
  auto added_later = [&](const std::string& name) {
    bool new_setting = name.rfind("settings.", 0) == 0 && original.count(name) == 0;
    return new_setting || name == "metrics.val_loss" || name == "metrics.val_accuracy" ||
           name == "metrics.best_epoch";
  };
  testing::save_checkpoint_with(dir / "old.pt", trained_checkpoint(), "version",
                                c10::IValue(kCheckpointVersion), added_later);
  Checkpoint loaded = load_checkpoint(dir / "old.pt", torch::kCPU);
  EXPECT_EQ(loaded.settings.validation, kValidateOnTest);
  EXPECT_EQ(loaded.settings.lr_schedule, "none");
  EXPECT_DOUBLE_EQ(loaded.settings.weight_decay, 0);
  EXPECT_FALSE(loaded.settings.augment);
  EXPECT_DOUBLE_EQ(loaded.metrics.val.accuracy, 0.75);  // it validated on the test set
  EXPECT_EQ(loaded.best_epoch, 3);
}

}  // namespace
}  // namespace fmnist
