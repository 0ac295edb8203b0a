#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "fmnist/kernels/optimizer_moments.hpp"
#include "fmnist/model/model.hpp"

namespace fmnist {

inline constexpr const char* kCheckpointFormat = "fmnist-checkpoint";
// Format 2: a zip of tensors and a pickle of plain data (no code), which Python opens with
// torch.load(path, weights_only=True). Format 1, fmnist 0.1's TorchScript archives, is read
// only after a strict check that it holds nothing but what fmnist 0.1 wrote.
inline constexpr std::int64_t kCheckpointVersion = 2;
inline constexpr std::int64_t kTorchScriptCheckpointVersion = 1;

inline constexpr const char* kValidateOnSplit = "split";  // a held-out part of the train set
inline constexpr const char* kValidateOnTest = "test";    // the tutorial's way

inline constexpr const char* kOptimizerAdam = "adam";
inline constexpr const char* kOptimizerAdamW = "adamw";  // Adam with decoupled weight decay
inline constexpr const char* kOptimizerSgd = "sgd";      // with Nesterov momentum

// How a checkpoint's model was trained (every `fmnist train` flag that shapes the model);
// stored so runs can be repeated and resumed. Fields missing in an older checkpoint load with
// the values that reproduce what that fmnist did.
struct TrainSettings {
  std::int64_t epochs = 20;
  std::int64_t batch_size = 128;
  double learning_rate = 1e-3;
  std::int64_t seed = 42;
  std::string data_dir;
  std::string validation = kValidateOnTest;
  double val_split = 0;  // fraction of the train set held out when validation is "split"
  std::string lr_schedule = "none";
  std::int64_t warmup_epochs = 0;
  std::int64_t step_size = 10;
  double step_gamma = 0.1;
  double weight_decay = 0;
  std::int64_t patience = 0;  // 0: no early stopping
  bool augment = false;
  std::string device;  // where it was trained, e.g. "cpu (2 threads)"
  // Since fmnist 0.3 (absent before: the values of older fmnist):
  std::string recipe;              // the recipe the run started from, e.g. "accurate"
  std::string optimizer = "adam";  // "adam", "adamw" (decoupled weight decay) or "sgd"
  double label_smoothing = 0;      // of the cross-entropy loss's targets
  double erasing = 0;              // probability of random erasing per training image
  // Since fmnist 0.4, absolute paths, so that `--resume` alone continues a run in place (empty
  // in older checkpoints, and checkpoint_dir where the epoch files sit beside `out`):
  std::string out;             // where the run writes its final model
  std::string checkpoint_dir;  // where it keeps its epoch files
  // Since fmnist 0.5 (0 before): the last epochs train on the images as they are, without
  // --augment's and --erasing's changes, so that the model ends fitted to unshifted, unmirrored
  // images such as the test set's.
  std::int64_t clean_epochs = 0;
};

// Loss and accuracy (a fraction) of a model on a split; NaN where not measured.
struct SplitMetrics {
  double loss = std::numeric_limits<double>::quiet_NaN();
  double accuracy = std::numeric_limits<double>::quiet_NaN();
};

// `val` is measured after every epoch (on the test set with validation "test"); `test` with
// validation "split" only once, at the end of a run.
struct Metrics {
  SplitMetrics train;
  SplitMetrics val;
  SplitMetrics test;
};

// Everything one checkpoint file holds. The optimizer state is present in files written during
// training; make_optimizer (train/optimizer) restores it.
struct Checkpoint {
  std::string arch = kCnnArch;
  std::vector<std::string> class_names = fashion_class_names();
  double pixel_scale = kPixelScale;
  std::int64_t epoch = 0;  // epochs completed
  TrainSettings settings;
  Metrics metrics;
  double best_accuracy = 0;     // best validation accuracy of any epoch so far
  std::int64_t best_epoch = 0;  // the epoch that reached it
  std::string fmnist_version;
  std::string torch_version;
  Net model;
  std::vector<OptimizerMoments> optimizer_state;     // in parameter order; empty: none
  std::int64_t format_version = kCheckpointVersion;  // of the file it was read from
};

// Writes `checkpoint` in the current format atomically to `path`. CheckpointError/Error if it
// cannot be written; the previous file is then untouched.
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);

// Reads and validates a checkpoint, with its tensors on `device`; the model is in eval mode.
// CheckpointError naming the file for anything that is not a checkpoint of ours. Nothing in the
// file is compiled or run: its layout, entry names and sizes are checked before LibTorch reads
// it, and every tensor's type, shape and extent after.
Checkpoint load_checkpoint(const std::filesystem::path& path, torch::Device device);

// The settings as the checkpoint file stores them: one JSON object, a key per field.
std::string train_settings_json(const TrainSettings& settings);

// What --tta (eval, predict) should warn about a checkpoint at `path`: a model trained without
// --augment has never seen mirrored images, and averaging with them may lower its accuracy.
// Empty when there is nothing to say.
std::string tta_warning(const Checkpoint& checkpoint, const std::string& path);
// Logs tta_warning() when `tta` is asked for and there is one (eval, predict and serve).
void warn_if_tta_unsuited(const Checkpoint& checkpoint, const std::string& path, bool tta);

// load_checkpoint of a file's bytes; `name` is the file's name for messages.
Checkpoint parse_checkpoint(std::string bytes, const std::string& name, torch::Device device);

// Rewrites the checkpoint `from` (of any format this fmnist reads) in the current format to
// `to`, atomically; returns the format version `from` had.
std::int64_t upgrade_checkpoint(const std::filesystem::path& from, const std::filesystem::path& to);

// `fmnist checkpoint upgrade OLD NEW`.
struct CheckpointUpgradeOptions {
  std::string from;
  std::string to;
};
void run_checkpoint_upgrade(const CheckpointUpgradeOptions& options, std::ostream& out);

}  // namespace fmnist
