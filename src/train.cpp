#include "fmnist/train.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>

#include "fmnist/dataset.hpp"
#include "fmnist/device.hpp"
#include "fmnist/error.hpp"
#include "fmnist/evaluate.hpp"
#include "fmnist/interrupt.hpp"
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

void check_options(const TrainOptions& options) {
  if (options.epochs < 1) throw UsageError("--epochs: must be at least 1");
  if (options.batch_size < 1) throw UsageError("--batch-size: must be at least 1");
  if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate)) {
    throw UsageError("--lr: must be a positive number");
  }
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

struct EpochContext {
  Cnn& model;
  torch::optim::Adam& optimizer;
  const Dataset& data;
  std::int64_t batch_size;
  const InterruptGuard& interrupts;
};

SplitMetrics train_epoch(EpochContext& context, std::int64_t epoch) {
  const Dataset& data = context.data;
  context.model->train();
  torch::Tensor order = torch::randperm(data.size(), torch::kInt64).to(data.labels.device());
  torch::Tensor loss_sum =
      torch::zeros({}, torch::TensorOptions(torch::kFloat64).device(data.labels.device()));
  torch::Tensor correct =
      torch::zeros({}, torch::TensorOptions(torch::kInt64).device(data.labels.device()));
  for (std::int64_t start = 0; start < data.size(); start += context.batch_size) {
    if (int signal_number = context.interrupts.pending_signal()) {
      throw Interrupted("training interrupted during epoch " + std::to_string(epoch),
                        signal_number);
    }
    torch::Tensor rows = order.slice(/*dim=*/0, start, start + context.batch_size);
    torch::Tensor labels = data.labels.index_select(/*dim=*/0, rows);
    torch::Tensor logits =
        context.model->forward(to_model_input(data.images.index_select(0, rows)));
    torch::Tensor loss = torch::nn::functional::cross_entropy(logits, labels);
    context.optimizer.zero_grad();
    loss.backward();
    context.optimizer.step();
    loss_sum += loss.detach() * rows.size(0);
    correct += (logits.argmax(/*dim=*/1) == labels).sum();
  }
  double count = static_cast<double>(data.size());
  return {loss_sum.item<double>() / count, correct.item<double>() / count};
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
  check_options(options);
  configure_runtime(options.threads);
  torch::Device device = select_device(options.device);
  fs::path data_dir = resolve_data_dir(options.data_dir);
  Dataset train_set = load_dataset(data_dir, Split::kTrain).to(device);
  Dataset test_set = load_dataset(data_dir, Split::kTest).to(device);
  spdlog::info("device {}, data {}", describe_device(device), data_dir.string());

  Checkpoint checkpoint = starting_point(options, device);
  if (device.is_cpu()) use_channels_last(*checkpoint.model);
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
  EpochContext context{checkpoint.model, optimizer, train_set, settings.batch_size, interrupts};
  TrainResult result;
  double training_seconds = 0;
  auto run_start = Clock::now();
  for (std::int64_t epoch = checkpoint.epoch + 1; epoch <= options.epochs; ++epoch) {
    seed_epoch(settings.seed, epoch);
    auto epoch_start = Clock::now();
    try {
      checkpoint.metrics.train = train_epoch(context, epoch);
    } catch (const Interrupted& e) {
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
    checkpoint.metrics.test = evaluate(checkpoint.model, test_set).metrics;
    checkpoint.epoch = epoch;
    save_epoch(checkpoint, optimizer, files);
    log_epoch(epoch, options.epochs, checkpoint.metrics, seconds, train_set.size() / seconds);
    result.images_per_second = train_set.size() * ++result.epochs_run / training_seconds;
  }
  save_checkpoint(options.out, checkpoint, &optimizer);
  result.epochs = checkpoint.epoch;
  result.metrics = checkpoint.metrics;
  result.seconds = std::chrono::duration<double>(Clock::now() - run_start).count();
  return result;
}

std::string format_train_result(const TrainResult& result, const std::string& out) {
  return fmt::format(
      "{}: test accuracy {:.2f}% (loss {:.4f}) after {} epochs; {:.0f} s, {:.0f} img/s", out,
      100 * result.metrics.test.accuracy, result.metrics.test.loss, result.epochs, result.seconds,
      result.images_per_second);
}

}  // namespace fmnist
