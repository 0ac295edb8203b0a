#include "fmnist/model/checkpoint.hpp"

#include <gtest/gtest.h>

#include <caffe2/serialize/inline_container.h>

#include <functional>

#include "fmnist/base/error.hpp"
#include "fmnist/kernels/adam.hpp"
#include "fmnist/kernels/sgd.hpp"
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
  checkpoint.settings.out = "/runs/model.pt";
  checkpoint.settings.checkpoint_dir = "/runs/ck";
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

// Adam's moments after one step on random gradients, so that none is zero.
std::vector<OptimizerMoments> stepped_moments(Net& model) {
  torch::optim::Adam optimizer(model->parameters());
  for (auto& p : model->parameters()) p.mutable_grad() = torch::randn_like(p);
  optimizer.step();
  return adam_moments(optimizer);
}

TEST(CheckpointTest, RoundTripGivesIdenticalLogitsAndMetadata) {
  TempDir dir;
  Checkpoint saved = trained_checkpoint();
  saved.optimizer_state = stepped_moments(saved.model);
  save_checkpoint(dir / "model.pt", saved);
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
  EXPECT_EQ(loaded.settings.out, "/runs/model.pt");
  EXPECT_EQ(loaded.settings.checkpoint_dir, "/runs/ck");
  EXPECT_DOUBLE_EQ(loaded.metrics.test.accuracy, 0.75);
  EXPECT_FALSE(loaded.torch_version.empty());
  EXPECT_EQ(loaded.format_version, kCheckpointVersion);
  EXPECT_FALSE(loaded.model->is_training());
  ASSERT_EQ(loaded.optimizer_state.size(), saved.optimizer_state.size());
  for (std::size_t i = 0; i < saved.optimizer_state.size(); ++i) {
    EXPECT_EQ(loaded.optimizer_state[i].step, 1);
    EXPECT_TRUE(torch::equal(loaded.optimizer_state[i].exp_avg, saved.optimizer_state[i].exp_avg));
    EXPECT_TRUE(
        torch::equal(loaded.optimizer_state[i].exp_avg_sq, saved.optimizer_state[i].exp_avg_sq));
  }
}

// SGD keeps one momentum buffer per parameter; the file holds those and no Adam moments.
TEST(CheckpointTest, TtaWarnsOnlyForAModelThatNeverSawMirrors) {
  Checkpoint checkpoint;
  checkpoint.settings.augment = false;
  EXPECT_EQ(tta_warning(checkpoint, "m.pt"),
            "--tta: m.pt was trained without --augment, so mirrored images are new to it; "
            "averaging with them may lower its accuracy");
  checkpoint.settings.augment = true;
  EXPECT_EQ(tta_warning(checkpoint, "m.pt"), "");
}

TEST(CheckpointTest, RoundTripKeepsSgdMomentumBuffers) {
  TempDir dir;
  Checkpoint saved = trained_checkpoint();
  saved.settings.optimizer = kOptimizerSgd;
  torch::optim::SGD optimizer(saved.model->parameters(),
                              torch::optim::SGDOptions(/*lr=*/0.1).momentum(0.9).nesterov(true));
  for (auto& p : saved.model->parameters()) p.mutable_grad() = torch::randn_like(p);
  sgd_step(optimizer);
  saved.optimizer_state = sgd_moments(optimizer);
  save_checkpoint(dir / "model.pt", saved);
  Checkpoint loaded = load_checkpoint(dir / "model.pt", torch::kCPU);
  EXPECT_EQ(loaded.settings.optimizer, kOptimizerSgd);
  ASSERT_EQ(loaded.optimizer_state.size(), saved.optimizer_state.size());
  for (std::size_t i = 0; i < saved.optimizer_state.size(); ++i) {
    EXPECT_TRUE(torch::equal(loaded.optimizer_state[i].momentum_buffer,
                             saved.optimizer_state[i].momentum_buffer));
    EXPECT_FALSE(loaded.optimizer_state[i].exp_avg.defined());
  }
}

TEST(CheckpointTest, OptimizerStateIsOptional) {
  TempDir dir;
  save_checkpoint(dir / "model.pt", trained_checkpoint());
  EXPECT_TRUE(load_checkpoint(dir / "model.pt", torch::kCPU).optimizer_state.empty());
}

// The file is plain data a reader of another language can open: a zip of a pickle and raw
// tensors, no code.
TEST(CheckpointTest, HoldsOnlyDataEntries) {
  TempDir dir;
  Checkpoint saved = trained_checkpoint();
  saved.optimizer_state = stepped_moments(saved.model);
  save_checkpoint(dir / "model.pt", saved);
  caffe2::serialize::PyTorchStreamReader reader((dir / "model.pt").string());
  std::size_t tensors = 0;
  for (const std::string& record : reader.getAllRecords()) {
    EXPECT_TRUE(record == "data.pkl" || record == "version" || record == "byteorder" ||
                record.rfind("data/", 0) == 0 || record.rfind(".data/", 0) == 0)
        << record;
    tensors += record.rfind("data/", 0) == 0 ? 1 : 0;
  }
  // The weights and Adam's two moments of each; LibTorch 2 adds byteorder and a serialization id.
  EXPECT_EQ(tensors, 3 * saved.model->parameters().size());
}

std::ptrdiff_t count_entries(const std::filesystem::path& dir) {
  return std::distance(std::filesystem::directory_iterator(dir),
                       std::filesystem::directory_iterator());
}

TEST(CheckpointTest, LeavesNoTemporaryFiles) {
  TempDir dir;
  save_checkpoint(dir / "model.pt", trained_checkpoint());
  save_checkpoint(dir / "model.pt", trained_checkpoint());
  EXPECT_EQ(count_entries(dir.path()), 1);
}

TEST(CheckpointTest, FailedWriteKeepsPreviousFile) {
  TempDir dir;
  std::filesystem::create_directory(dir / "model.pt");  // rename onto a directory fails
  EXPECT_THROW(save_checkpoint(dir / "model.pt", trained_checkpoint()), Error);
  EXPECT_TRUE(std::filesystem::is_directory(dir / "model.pt"));
  EXPECT_THROW(save_checkpoint(dir / "missing" / "model.pt", trained_checkpoint()), Error);
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
  EXPECT_NE(load_error(dir / "random.pt").find("not an fmnist checkpoint"), std::string::npos);
}

// A file far larger than any checkpoint is refused before it is read into memory.
TEST(CheckpointTest, RefusesFilesLargerThanAnyCheckpoint) {
  TempDir dir;
  testing::write_bytes(dir / "huge.pt", "PK");
  std::filesystem::resize_file(dir / "huge.pt", std::uintmax_t{100} << 20);  // sparse
  EXPECT_NE(load_error(dir / "huge.pt").find("huge.pt: file is too large (104857600 bytes"),
            std::string::npos)
      << load_error(dir / "huge.pt");
}

TEST(CheckpointTest, NamesWhatOtherFilesAre) {
  TempDir dir;
  testing::write_bytes(dir / "bag.png", testing::png_bytes(torch::zeros({4, 4, 1}, torch::kUInt8)));
  const std::string bag = (dir / "bag.png").string();
  EXPECT_EQ(load_error(dir / "bag.png"), bag + " is a PNG image, not an fmnist checkpoint " +
                                             "(to classify it: fmnist predict " + bag + ")");
  testing::write_bytes(dir / "x.gz", std::string("\x1f\x8b\x08\x00rest", 8));
  EXPECT_EQ(load_error(dir / "x.gz"),
            (dir / "x.gz").string() + " is a gzip file, not an fmnist checkpoint");
}

// A zip written the way LibTorch writes checkpoints, with the given entries.
void write_archive(const std::filesystem::path& path,
                   const std::vector<std::pair<std::string, std::string>>& entries) {
  caffe2::serialize::PyTorchStreamWriter writer(path.string());
  for (const auto& [name, bytes] : entries) writer.writeRecord(name, bytes.data(), bytes.size());
  writer.writeEndOfFile();
}

// Entries are checked by name and size before anything is read or allocated.
TEST(CheckpointTest, RefusesUnexpectedOrOversizedEntries) {
  TempDir dir;
  const std::string pickle = "\x80\x02}q\x00.";  // an empty dict
  write_archive(dir / "extra.pt", {{"data.pkl", pickle}, {"payload/run.sh", "#!/bin/sh"}});
  EXPECT_NE(
      load_error(dir / "extra.pt").find("it holds 'payload/run.sh', which fmnist never writes"),
      std::string::npos)
      << load_error(dir / "extra.pt");
  write_archive(dir / "big.pt", {{"data.pkl", pickle}, {"data/0", std::string(8 << 20, '\0')}});
  EXPECT_NE(load_error(dir / "big.pt").find("refused: its entry 'data/0' has 8388608 bytes"),
            std::string::npos)
      << load_error(dir / "big.pt");
  write_archive(dir / "nodata.pt", {{"version", "3"}});
  EXPECT_NE(load_error(dir / "nodata.pt").find("without data.pkl"), std::string::npos);
}

// A document that names a class: the unpickler has no way to make one, so it is refused.
TEST(CheckpointTest, RefusesPicklesThatNameClasses) {
  TempDir dir;
  const std::string pickle = "\x80\x02c__torch__\nEvil\nq\x00)\x81q\x01.";
  write_archive(dir / "class.pt", {{"data.pkl", pickle}});
  EXPECT_NE(load_error(dir / "class.pt").find("its data cannot be read as one"), std::string::npos)
      << load_error(dir / "class.pt");
}

TEST(CheckpointTest, RefusesTensorsOfTheWrongShapeOrType) {
  TempDir dir;
  testing::save_checkpoint_with(dir / "shape.pt", trained_checkpoint(), [](auto& document, auto&) {
    auto model = document.at("model").toGenericDict();
    model.insert_or_assign("fc2.bias", torch::zeros({11}));
  });
  EXPECT_NE(load_error(dir / "shape.pt")
                .find("'model.fc2.bias' is not a Float tensor of the "
                      "architecture's shape"),
            std::string::npos)
      << load_error(dir / "shape.pt");
  testing::save_checkpoint_with(dir / "type.pt", trained_checkpoint(), [](auto& document, auto&) {
    auto model = document.at("model").toGenericDict();
    model.insert_or_assign("fc2.bias", torch::zeros({10}, torch::kFloat64));
  });
  EXPECT_NE(load_error(dir / "type.pt").find("'model.fc2.bias' is not a Float tensor"),
            std::string::npos);
  testing::save_checkpoint_with(
      dir / "missing.pt", trained_checkpoint(), [](auto& document, auto&) {
        EXPECT_EQ(document.at("model").toGenericDict().erase("conv1.weight"), 1u);
      });
  EXPECT_NE(load_error(dir / "missing.pt").find("no 'model.conv1.weight' tensor"),
            std::string::npos);
}

// LibTorch's unpickler takes a tensor's sizes and strides from the file without checking them
// against its data: a tensor reaching past its record must be refused, not read.
TEST(CheckpointTest, RefusesTensorsReachingPastTheirData) {
  TempDir dir;
  testing::save_checkpoint_with(dir / "past.pt", trained_checkpoint(), [](auto& document, auto&) {
    torch::Tensor small = torch::zeros({2});
    small.unsafeGetTensorImpl()->set_sizes_contiguous({10});  // 10 elements over 2 of storage
    document.at("model").toGenericDict().insert_or_assign("fc2.bias", small);
  });
  EXPECT_NE(load_error(dir / "past.pt").find("'model.fc2.bias' reaches past its data"),
            std::string::npos)
      << load_error(dir / "past.pt");
}

TEST(CheckpointTest, RejectsTruncatedFile) {
  TempDir dir;
  save_checkpoint(dir / "model.pt", trained_checkpoint());
  std::string bytes = testing::read_bytes(dir / "model.pt");
  for (std::size_t keep : {bytes.size() / 10, bytes.size() / 2, bytes.size() - 10}) {
    testing::write_bytes(dir / "cut.pt", bytes.substr(0, keep));
    std::string message = load_error(dir / "cut.pt");
    EXPECT_EQ(message, (dir / "cut.pt").string() +
                           ": not an fmnist checkpoint (not a zip archive "
                           "of the expected layout; truncated or damaged?)");
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
  testing::save_checkpoint_with(dir / "future.pt", trained_checkpoint(), [](auto& document, auto&) {
    document.insert_or_assign("version", std::int64_t{99});
  });
  EXPECT_NE(load_error(dir / "future.pt").find("format version 99 is not supported"),
            std::string::npos)
      << load_error(dir / "future.pt");
}

TEST(CheckpointTest, RejectsOtherArchitecture) {
  TempDir dir;
  testing::save_checkpoint_with(dir / "resnet.pt", trained_checkpoint(),
                                [](auto&, auto& metadata) { metadata["arch"] = "resnet50"; });
  EXPECT_NE(load_error(dir / "resnet.pt")
                .find("architecture 'resnet50' is not supported (this fmnist has 'cnn', "
                      "'cnn-bn' and 'resnet')"),
            std::string::npos)
      << load_error(dir / "resnet.pt");
}

TEST(CheckpointTest, RejectsWrongFieldType) {
  TempDir dir;
  testing::save_checkpoint_with(dir / "odd.pt", trained_checkpoint(),
                                [](auto&, auto& metadata) { metadata["epoch"] = "three"; });
  EXPECT_NE(load_error(dir / "odd.pt").find("'epoch' has the wrong type"), std::string::npos);
}

TEST(CheckpointTest, KeepsEveryTrainingSettingAndTheBatchNormArch) {
  TempDir dir;
  Checkpoint saved = trained_checkpoint();
  saved.arch = kCnnBnArch;
  saved.model = Net(kCnnBnArch);
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
  save_checkpoint(dir / "bn.pt", saved);
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

}  // namespace
}  // namespace fmnist
