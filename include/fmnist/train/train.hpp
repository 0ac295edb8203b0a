#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

#include "fmnist/model/checkpoint.hpp"
#include "fmnist/model/model.hpp"
#include "fmnist/train/distributed.hpp"
#include "fmnist/train/recipe.hpp"
#include "fmnist/train/schedule.hpp"

namespace fmnist {

// `fmnist train`'s flags. `recipe` gives every training setting; a flag that is set overrides
// the recipe's value. A resumed run keeps the settings stored in its checkpoint (all but
// epochs, data_dir, out, checkpoint_dir, device and threads), so that it draws what the
// uninterrupted run would have; data_dir, out and checkpoint_dir, unless given, are the run's
// own (stored in its checkpoints), so that `--resume` alone continues it in place.
inline constexpr const char* kDefaultOut = "model.pt";

struct TrainOptions {
  std::string recipe = kRecipeTutorial;
  std::optional<std::int64_t> epochs;
  std::optional<std::int64_t> batch_size;
  std::optional<double> learning_rate;
  std::optional<std::string> arch;
  std::optional<std::string> optimizer;
  std::optional<std::string> lr_schedule;
  std::optional<std::int64_t> warmup_epochs;
  std::optional<double> weight_decay;  // adam: L2 in the gradients; adamw: decoupled
  std::optional<double> label_smoothing;
  std::optional<double> erasing;
  std::optional<bool> augment;
  std::optional<std::int64_t> clean_epochs;
  std::int64_t seed = 42;
  std::string validation = kValidateOnSplit;  // or kValidateOnTest
  double val_split = 0.1;
  std::int64_t step_size = 10;
  double step_gamma = 0.1;
  std::int64_t patience = 0;  // stop after this many epochs without a better validation accuracy
  std::optional<std::string> data_dir;
  std::optional<std::string> out;             // default: the resumed run's, else kDefaultOut
  std::optional<std::string> resume;          // a checkpoint to continue from
  std::optional<std::string> checkpoint_dir;  // default: the directory of `out`
  bool force = false;  // a new run may replace an existing `out` and its epoch files
  std::string device = "auto";
  int threads = 0;  // 0: one per core
  DistributedOptions distributed;
};

struct TrainResult {
  std::int64_t epochs = 0;      // epochs completed in all, resumed ones included
  std::int64_t epochs_run = 0;  // epochs completed by this run
  Metrics metrics;              // of the last epoch; test measured once, at the end
  std::int64_t best_epoch = 0;  // the best validation accuracy's, kept in CheckpointFiles::best
  double best_accuracy = 0;
  std::string validation = kValidateOnSplit;  // where best_accuracy was measured (--val)
  double seconds = 0;                         // this run's training and evaluation time
  double images_per_second = 0;               // training throughput of this run
  int rank = 0;                               // of this process in a data-parallel run
  std::string out;  // where the final model went (--out, or the resumed run's)
};

// Where training keeps its per-epoch files: <stem of out>.last.pt, .best.pt (best validation
// accuracy so far) and .history.csv in options.checkpoint_dir, else beside options.out.
struct CheckpointFiles {
  std::filesystem::path last;
  std::filesystem::path best;
  std::filesystem::path history;       // <stem>.history.csv
  std::filesystem::path history_plot;  // <stem>.history.png: its loss and accuracy curves
};
CheckpointFiles checkpoint_files(const TrainOptions& options);

// `options` with out, checkpoint_dir and data_dir, where not given, taken from the checkpoint
// it resumes (when that stores them), and out defaulting to kDefaultOut otherwise.
TrainOptions with_run_paths(TrainOptions options);

// The recipe `options.recipe` with every flag that `options` sets applied over it; UsageError
// for an unknown recipe or a setting that cannot work.
Recipe resolve_recipe(const TrainOptions& options);

// `fmnist train`: Adam (Keras defaults) on the training split, validated after every epoch on a
// held-out part of it (or, with validation "test", on the test split), the `last` and `best`
// checkpoints and the history written after every epoch and options.out at the end. With a
// held-out validation set the test split is read and evaluated only after the last epoch. In a
// data-parallel run (options.distributed, or the torchrun environment) this is one rank: it
// joins the others, and only rank 0 writes files and logs. Throws UsageError for options that
// cannot work, Interrupted on SIGINT/SIGTERM (at the next batch boundary; the checkpoints of the
// last complete epoch stay).
TrainResult train(const TrainOptions& options);

// `fmnist train`: with --nproc N, unless this process is already a rank, starts N local ranks
// and waits for them; otherwise trains, and rank 0 writes the result line to `out`.
void run_train(const TrainOptions& options, std::ostream& out);

// The one result line `fmnist train` prints on stdout.
std::string format_train_result(const TrainResult& result);

}  // namespace fmnist
