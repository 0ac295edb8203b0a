#include "fmnist/train.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>

#include "fmnist/dataset.hpp"
#include "fmnist/device.hpp"
#include "fmnist/distributed.hpp"
#include "fmnist/error.hpp"
#include "fmnist/evaluate.hpp"
#include "fmnist/interrupt.hpp"
#include "fmnist/launcher.hpp"
#include "fmnist/runtime.hpp"

namespace fmnist {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr double kAdamEpsilon = 1e-7;  // Keras' default, not PyTorch's 1e-8

void check_writable_directory(fs::path directory, const std::string& flag) {
  if (directory.empty()) directory = ".";
  std::error_code ec;
  if (!fs::is_directory(directory, ec) || ::access(directory.c_str(), W_OK) != 0) {
    throw UsageError(flag + ": directory " + directory.string() +
                     " does not exist or is not writable");
  }
}

// `writes_files`: only rank 0 writes, so only its directories must exist.
void check_options(const TrainOptions& options, bool writes_files) {
  if (options.epochs < 1) throw UsageError("--epochs: must be at least 1");
  if (options.batch_size < 1) throw UsageError("--batch-size: must be at least 1");
  if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate)) {
    throw UsageError("--lr: must be a positive number");
  }
  if (!writes_files) return;
  check_writable_directory(fs::path(options.out).parent_path(), "--out " + options.out);
  if (options.checkpoint_dir) {
    check_writable_directory(*options.checkpoint_dir, "--checkpoint-dir");
  }
}

// Every epoch's shuffle and dropout masks derive from (seed, epoch) alone, so a run resumed
// after epoch k draws exactly what an uninterrupted run would.
void seed_epoch(std::int64_t seed, std::int64_t epoch) {
  std::uint64_t mixed = static_cast<std::uint64_t>(seed) * 0x9E3779B97F4A7C15ULL + epoch;
  torch::manual_seed(mixed);
}

// The seed of a step's dropout masks: the same on every rank, whatever the world size.
std::uint64_t seed_step(std::int64_t seed, std::int64_t epoch, std::int64_t step) {
  std::uint64_t mixed =
      (static_cast<std::uint64_t>(seed) * 0x9E3779B97F4A7C15ULL + epoch) * 0xBF58476D1CE4E5B9ULL +
      step;
  return mixed ^ (mixed >> 31);
}

struct EpochContext {
  Cnn& model;
  torch::optim::Adam& optimizer;
  const Dataset& data;
  std::int64_t batch_size;
  std::int64_t seed;
  const InterruptGuard& interrupts;
  ProcessGroup& group;
};

// One epoch over the global batches of the (seed, epoch) permutation; each rank takes its part
// of every batch (and of its dropout masks), so any world size takes the same steps.
SplitMetrics train_epoch(EpochContext& context, std::int64_t epoch) {
  const Dataset& data = context.data;
  ProcessGroup& group = context.group;
  context.model->train();
  torch::Device device = data.labels.device();
  torch::Tensor order = torch::randperm(data.size(), torch::kInt64).to(device);
  torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions(torch::kFloat64).device(device));
  torch::Tensor correct = torch::zeros({}, torch::TensorOptions(torch::kInt64).device(device));
  std::int64_t count = 0;
  for (std::int64_t start = 0, step = 0; start < data.size(); start += context.batch_size, ++step) {
    if (auto signal_number = group.max(context.interrupts.pending_signal())) {
      throw Interrupted("training interrupted during epoch " + std::to_string(epoch),
                        static_cast<int>(signal_number));
    }
    torch::Tensor batch = order.slice(/*dim=*/0, start, start + context.batch_size);
    Part part = group.part(batch.size(0));
    context.optimizer.zero_grad();
    if (part.size() > 0) {
      torch::Tensor rows = batch.slice(/*dim=*/0, part.begin, part.end);
      torch::Tensor mask = dropout_mask(batch.size(0), seed_step(context.seed, epoch, step))
                               .slice(/*dim=*/0, part.begin, part.end)
                               .to(device);
      torch::Tensor labels = data.labels.index_select(/*dim=*/0, rows);
      torch::Tensor logits =
          context.model->forward(to_model_input(data.images.index_select(0, rows)), mask);
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
      (loss / batch.size(0)).backward();  // the global batch's mean, once the ranks' are summed
      loss_sum += loss.detach();
      correct += (logits.argmax(/*dim=*/1) == labels).sum();
      count += part.size();
    }
    group.sum_gradients(context.model->parameters());
    context.optimizer.step();
  }
  SplitMetrics local = {loss_sum.item<double>() / count, correct.item<double>() / count};
  return group.mean(local, count);
}

Checkpoint starting_point(const TrainOptions& options, torch::Device device) {
  if (!options.resume) {
    torch::manual_seed(options.seed);
    Checkpoint fresh;
    fresh.model->to(device);
    return fresh;
  }
  Checkpoint resumed = load_checkpoint(*options.resume, device);
  if (resumed.epoch >= options.epochs) {
    throw UsageError("--resume " + *options.resume + ": already trained for " +
                     std::to_string(resumed.epoch) + " epochs; pass --epochs above that");
  }
  return resumed;
}

void log_epoch(std::int64_t epoch, std::int64_t epochs, const Metrics& metrics, double seconds,
               double images_per_second) {
  spdlog::info(
      "epoch {:>2}/{}  train loss {:.4f} acc {:.2f}%  test loss {:.4f} acc {:.2f}%  {:.1f} s  "
      "{:.0f} img/s",
      epoch, epochs, metrics.train.loss, 100 * metrics.train.accuracy, metrics.test.loss,
      100 * metrics.test.accuracy, seconds, images_per_second);
}

std::string resume_hint(const TrainOptions& options, std::int64_t saved_epoch) {
  if (saved_epoch == 0) return "no epoch was completed, nothing was saved";
  std::string last = checkpoint_files(options).last.string();
  return fmt::format("{} holds epoch {}; continue with: fmnist train --resume {} --epochs {}", last,
                     saved_epoch, last, options.epochs);
}

// After every epoch: `best` if the test accuracy improved, then `last`; each write is atomic,
// so a kill at any moment leaves the previous versions loadable.
void save_epoch(Checkpoint& checkpoint, const torch::optim::Optimizer& optimizer,
                const CheckpointFiles& files) {
  if (checkpoint.metrics.test.accuracy > checkpoint.best_accuracy) {
    checkpoint.best_accuracy = checkpoint.metrics.test.accuracy;
    save_checkpoint(files.best, checkpoint, &optimizer);
  }
  save_checkpoint(files.last, checkpoint, &optimizer);
}

}  // namespace

CheckpointFiles checkpoint_files(const TrainOptions& options) {
  fs::path out(options.out);
  fs::path directory =
      options.checkpoint_dir ? fs::path(*options.checkpoint_dir) : out.parent_path();
  std::string stem = out.stem().string();
  return {directory / (stem + ".last.pt"), directory / (stem + ".best.pt")};
}

TrainResult train(const TrainOptions& options) {
  RankConfig ranks = resolve_rank_config(options.distributed);
  check_options(options, /*writes_files=*/ranks.rank == 0);
  configure_runtime(threads_per_rank(options.threads, ranks));
  torch::Device device = rank_device(select_device(options.device), ranks);
  ProcessGroup group = ProcessGroup::join(ranks, device);
  fs::path data_dir = resolve_data_dir(options.data_dir);
  Dataset train_set = load_dataset(data_dir, Split::kTrain).to(device);
  Dataset test_set = load_dataset(data_dir, Split::kTest).to(device);
  spdlog::info("device {}, data {}", describe_device(device), data_dir.string());

  Checkpoint checkpoint = starting_point(options, device);
  group.broadcast(checkpoint.model->parameters());
  TrainSettings& settings = checkpoint.settings;
  if (!options.resume) {
    settings = {options.epochs, options.batch_size, options.learning_rate, options.seed, ""};
  }
  // A resumed run keeps the batch size, learning rate and seed it started with, so that it
  // draws what the uninterrupted run would have.
  settings.epochs = options.epochs;
  settings.data_dir = data_dir.string();
  torch::optim::Adam optimizer(checkpoint.model->parameters(),
                               torch::optim::AdamOptions(settings.learning_rate).eps(kAdamEpsilon));
  if (checkpoint.optimizer_state) optimizer.load(*checkpoint.optimizer_state);
  spdlog::info("training epochs {}..{}: {} training and {} test images, batch {}",
               checkpoint.epoch + 1, options.epochs, train_set.size(), test_set.size(),
               settings.batch_size);

  CheckpointFiles files = checkpoint_files(options);
  InterruptGuard interrupts;
  EpochContext context{checkpoint.model, optimizer,  train_set, settings.batch_size,
                       settings.seed,    interrupts, group};
  TrainResult result;
  result.rank = group.rank();
  double training_seconds = 0;
  auto run_start = Clock::now();
  for (std::int64_t epoch = checkpoint.epoch + 1; epoch <= options.epochs; ++epoch) {
    seed_epoch(settings.seed, epoch);
    auto epoch_start = Clock::now();
    try {
      checkpoint.metrics.train = train_epoch(context, epoch);
    } catch (const Interrupted& e) {
      if (!group.is_leader()) throw RanksInterrupted(e.exit_code());  // rank 0 says it
      throw Interrupted(std::string(e.what()) + "; " + resume_hint(options, checkpoint.epoch),
                        e.signal_number());
    }
    double seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    if (!std::isfinite(checkpoint.metrics.train.loss)) {
      throw Error(fmt::format(
          "training diverged: the loss became {} in epoch {}; {}; try a lower --lr",
          checkpoint.metrics.train.loss, epoch, resume_hint(options, checkpoint.epoch)));
    }
    training_seconds += seconds;
    checkpoint.model->eval();
    checkpoint.metrics.test = evaluate_sharded(group, checkpoint.model, test_set);
    checkpoint.epoch = epoch;
    if (group.is_leader()) save_epoch(checkpoint, optimizer, files);
    log_epoch(epoch, options.epochs, checkpoint.metrics, seconds, train_set.size() / seconds);
    result.images_per_second = train_set.size() * ++result.epochs_run / training_seconds;
  }
  if (group.is_leader()) save_checkpoint(options.out, checkpoint, &optimizer);
  group.barrier();  // every rank succeeds only once rank 0 has saved
  result.epochs = checkpoint.epoch;
  result.metrics = checkpoint.metrics;
  result.seconds = std::chrono::duration<double>(Clock::now() - run_start).count();
  return result;
}

void run_train(const TrainOptions& options, std::ostream& out) {
  if (wants_launcher(options.distributed)) {
    check_options(options, /*writes_files=*/true);
    launch_local_ranks(options.distributed);
    return;
  }
  TrainResult result = train(options);
  if (result.rank == 0) out << format_train_result(result, options.out) << std::endl;
}

std::string format_train_result(const TrainResult& result, const std::string& out) {
  return fmt::format(
      "{}: test accuracy {:.2f}% (loss {:.4f}) after {} epochs; {:.0f} s, {:.0f} img/s", out,
      100 * result.metrics.test.accuracy, result.metrics.test.loss, result.epochs, result.seconds,
      result.images_per_second);
}

}  // namespace fmnist
