#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

#include "fmnist/checkpoint.hpp"
#include "fmnist/distributed.hpp"

namespace fmnist {

struct TrainOptions {
  std::int64_t epochs = 20;
  std::int64_t batch_size = 128;
  double learning_rate = 1e-3;
  std::int64_t seed = 42;
  std::optional<std::string> data_dir;
  std::string out = "model.pt";
  std::optional<std::string> resume;          // a checkpoint to continue from
  std::optional<std::string> checkpoint_dir;  // default: the directory of `out`
  std::string device = "auto";
  int threads = 0;  // 0: one per core
  DistributedOptions distributed;
};

struct TrainResult {
  std::int64_t epochs = 0;       // epochs completed in all, resumed ones included
  std::int64_t epochs_run = 0;   // epochs completed by this run
  Metrics metrics;               // of the last epoch
  double seconds = 0;            // this run's training and evaluation time
  double images_per_second = 0;  // training throughput of this run
  int rank = 0;                  // of this process in a data-parallel run
};

// Where training keeps its per-epoch checkpoints: <stem of out>.last.pt and .best.pt (best test
// accuracy so far) in options.checkpoint_dir, else beside options.out.
struct CheckpointFiles {
  std::filesystem::path last;
  std::filesystem::path best;
};
CheckpointFiles checkpoint_files(const TrainOptions& options);

// `fmnist train`: Adam (Keras defaults) on the training split, the test split evaluated after
// every epoch, the `last` and `best` checkpoints written after every epoch and options.out at
// the end. In a data-parallel run (options.distributed, or the torchrun environment) this is
// one rank: it joins the others, and only rank 0 writes files and logs. Throws UsageError for options that cannot work, Interrupted on SIGINT/SIGTERM (at
// the next batch boundary; the checkpoints of the last complete epoch stay).
TrainResult train(const TrainOptions& options);

// `fmnist train`: with --nproc N, unless this process is already a rank, starts N local ranks
// and waits for them; otherwise trains, and rank 0 writes the result line to `out`.
void run_train(const TrainOptions& options, std::ostream& out);

// The one result line `fmnist train` prints on stdout.
std::string format_train_result(const TrainResult& result, const std::string& out);

}  // namespace fmnist
