#pragma once

#include <ostream>
#include <string>

#include "fmnist/model/checkpoint.hpp"
#include "fmnist/model/model.hpp"

namespace fmnist {

// A Keras-style table of `model`'s layers (name and type, output shape for a batch of 28x28
// images, parameters) with the totals; batch-norm running statistics are not parameters.
std::string format_model_summary(Net& model);

// The `fmnist train` command line that repeats the checkpoint's run, every setting spelled out.
std::string training_command(const Checkpoint& checkpoint);

// What `fmnist info` prints about a checkpoint: the training command that repeats it (every
// setting), data, device, versions, epochs and metrics, then the model summary.
std::string format_checkpoint_info(Checkpoint& checkpoint, const std::string& path);

// The same as one JSON document (`fmnist info --json`, fmnist serve's GET /v1/model): path,
// arch, classes, epoch, best_validation, trained_by, settings, metrics (null where not
// measured), versions, parameters and layers.
std::string format_checkpoint_json(Checkpoint& checkpoint, const std::string& path);

struct SummaryOptions {
  std::string arch = kCnnArch;
};

struct InfoOptions {
  std::string model_path = "model.pt";
  bool json = false;
};

// `fmnist summary` and `fmnist info`: write the report to `out`.
void run_summary(const SummaryOptions& options, std::ostream& out);
void run_info(const InfoOptions& options, std::ostream& out);

}  // namespace fmnist
