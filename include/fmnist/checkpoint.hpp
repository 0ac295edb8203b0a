#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "fmnist/model.hpp"

namespace fmnist {

inline constexpr const char* kCheckpointFormat = "fmnist-checkpoint";
inline constexpr std::int64_t kCheckpointVersion = 1;

// How a checkpoint's model was trained; stored so runs can be repeated and resumed.
struct TrainSettings {
  std::int64_t epochs = 20;
  std::int64_t batch_size = 128;
  double learning_rate = 1e-3;
  std::int64_t seed = 42;
  std::string data_dir;
};

// Loss and accuracy (a fraction) of a model on a split; NaN where not measured.
struct SplitMetrics {
  double loss = std::numeric_limits<double>::quiet_NaN();
  double accuracy = std::numeric_limits<double>::quiet_NaN();
};

struct Metrics {
  SplitMetrics train;
  SplitMetrics test;
};

// Everything one checkpoint file holds. The optimizer state is only present after loading a
// file written during training; restore it with `optimizer.load(*checkpoint.optimizer_state)`.
struct Checkpoint {
  std::string arch = kCnnArch;
  std::vector<std::string> class_names = fashion_class_names();
  double pixel_scale = kPixelScale;
  std::int64_t epoch = 0;  // epochs completed
  TrainSettings settings;
  Metrics metrics;
  double best_accuracy = 0;  // best test accuracy of any epoch so far
  std::string fmnist_version;
  std::string torch_version;
  Cnn model;
  std::shared_ptr<torch::serialize::InputArchive> optimizer_state;
};

// Writes `checkpoint` (and the optimizer's state, if given) atomically to `path`.
// CheckpointError/Error if it cannot be written; the previous file is then untouched.
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint,
                     const torch::optim::Optimizer* optimizer);

// Reads and validates a checkpoint, with its tensors on `device`; the model is in eval mode.
// CheckpointError naming the file for anything that is not a checkpoint of ours.
Checkpoint load_checkpoint(const std::filesystem::path& path, torch::Device device);

}  // namespace fmnist
