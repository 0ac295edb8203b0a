#include "fmnist/train/train.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <string_view>

#include "fmnist/base/device.hpp"
#include "fmnist/base/error.hpp"
#include "fmnist/base/file_util.hpp"
#include "fmnist/base/interrupt.hpp"
#include "fmnist/base/runtime.hpp"
#include "fmnist/data/augment.hpp"
#include "fmnist/data/dataset.hpp"
#include "fmnist/data/validation.hpp"
#include "fmnist/eval/evaluate.hpp"
#include "fmnist/report/summary.hpp"
#include "fmnist/train/distributed.hpp"
#include "fmnist/train/history.hpp"
#include "fmnist/train/history_csv.hpp"
#include "fmnist/train/launcher.hpp"
#include "fmnist/train/optimizer.hpp"
#include "fmnist/train/progress.hpp"

namespace fmnist {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// What a file that a new run would replace holds, for the message that refuses to.
std::string describe_existing(const fs::path& path) {
  if (path.extension() != ".pt") return "";
  try {
    Checkpoint existing = load_checkpoint(path, torch::kCPU);
    std::string what = ": epoch " + std::to_string(existing.epoch);
    if (!std::isnan(existing.metrics.test.accuracy)) {
      return what + fmt::format(", test accuracy {:.2f}%", 100 * existing.metrics.test.accuracy);
    }
    return what + fmt::format(", best validation accuracy {:.2f}%", 100 * existing.best_accuracy);
  } catch (const Error&) {
    return " (not a checkpoint fmnist can read)";
  }
}

// A new run does not replace the model or the epoch files of another without --force; a
// resumed run writes over its own.
void refuse_to_replace(const TrainOptions& options) {
  if (options.force || options.resume) return;
  CheckpointFiles files = checkpoint_files(options);
  for (const fs::path& path : {fs::path(*options.out), files.last, files.best, files.history}) {
    if (std::error_code ec; !fs::exists(path, ec)) continue;
    throw UsageError(path.string() + " exists" + describe_existing(path) +
                     "; use --force to replace it, or --out PATH");
  }
}

template <typename T>
bool changes(const std::optional<T>& flag, const T& stored) {
  return flag.has_value() && *flag != stored;
}

// A resumed run continues with its checkpoint's settings: a flag that would change one is
// refused by name, never ignored (repeating the run's own values is fine). Flags without an
// unset state count as given when they differ from their default.
void refuse_changed_settings(const TrainOptions& options, const Checkpoint& resumed) {
  const TrainOptions defaults;
  const TrainSettings& s = resumed.settings;
  auto differs = [](const auto& value, const auto& default_value, const auto& stored) {
    return value != default_value && value != stored;
  };
  const std::vector<std::pair<bool, const char*>> flags = {
      {differs(options.recipe, defaults.recipe, s.recipe), "--recipe"},
      {changes(options.arch, resumed.arch), "--arch"},
      {changes(options.batch_size, s.batch_size), "--batch-size"},
      {changes(options.learning_rate, s.learning_rate), "--lr"},
      {changes(options.optimizer, s.optimizer), "--optimizer"},
      {changes(options.lr_schedule, s.lr_schedule), "--lr-schedule"},
      {changes(options.warmup_epochs, s.warmup_epochs), "--warmup-epochs"},
      {changes(options.weight_decay, s.weight_decay), "--weight-decay"},
      {changes(options.label_smoothing, s.label_smoothing), "--label-smoothing"},
      {changes(options.erasing, s.erasing), "--erasing"},
      {changes(options.augment, s.augment), "--augment/--no-augment"},
      {changes(options.clean_epochs, s.clean_epochs), "--clean-epochs"},
      {differs(options.seed, defaults.seed, s.seed), "--seed"},
      {differs(options.validation, defaults.validation, s.validation), "--val"},
      {differs(options.val_split, defaults.val_split, s.val_split), "--val-split"},
      {differs(options.step_size, defaults.step_size, s.step_size), "--step-size"},
      {differs(options.step_gamma, defaults.step_gamma, s.step_gamma), "--step-gamma"},
      {differs(options.patience, defaults.patience, s.patience), "--patience"},
  };
  std::string given;
  for (const auto& [set, name] : flags) {
    if (set) given += std::string(given.empty() ? "" : ", ") + name;
  }
  if (given.empty()) return;
  throw UsageError("--resume " + *options.resume + ": " + given +
                   " would change the run's settings, which a resumed run keeps ('fmnist info " +
                   *options.resume + "' shows them); drop the flag or start a new run");
}

// `writes_files`: only rank 0 writes, so only its directories must exist. The recipe's
// settings are checked by resolve_recipe.
void check_options(const TrainOptions& options, bool writes_files) {
  if (options.patience < 0) throw UsageError("--patience: must be at least 0");
  if (options.validation != kValidateOnSplit && options.validation != kValidateOnTest) {
    throw UsageError("--val: '" + options.validation + "' is not split or test");
  }
  if (!writes_files) return;
  const fs::path out(*options.out);
  check_not_a_directory(out, "--out", "model.pt");
  make_output_directory(out.parent_path(), "--out " + *options.out);
  if (options.checkpoint_dir) {
    make_output_directory(*options.checkpoint_dir, "--checkpoint-dir " + *options.checkpoint_dir);
  }
  refuse_to_replace(options);
}

// Every epoch's shuffle, augmentation and dropout masks derive from (seed, epoch) alone, so a
// run resumed after epoch k draws exactly what an uninterrupted run would.
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

Checkpoint starting_point(const TrainOptions& options, torch::Device device) {
  if (!options.resume) {
    Recipe resolved = resolve_recipe(options);
    Checkpoint fresh;
    fresh.arch = resolved.arch;
    fresh.settings = resolved.settings;
    torch::manual_seed(options.seed);  // right before the only initialisation that counts
    fresh.model = Net(resolved.arch);
    fresh.model->to(device);
    return fresh;
  }
  if (is_missing(*options.resume)) {
    throw UsageError("--resume " + *options.resume + ": no such file");
  }
  Checkpoint resumed = load_checkpoint(*options.resume, device);
  check_settings(resumed.settings);
  refuse_changed_settings(options, resumed);
  const std::int64_t epochs = options.epochs.value_or(resumed.settings.epochs);
  if (resumed.epoch >= epochs) {
    throw UsageError("--resume " + *options.resume + ": already trained for " +
                     std::to_string(resumed.epoch) + " epochs; pass --epochs above that");
  }
  resumed.settings.epochs = epochs;
  return resumed;
}

// What a run trains and validates on; the test split only when it validates on it.
struct RunData {
  Dataset train;
  Dataset val;
};

RunData load_run_data(const fs::path& data_dir, const TrainSettings& settings,
                      torch::Device device) {
  Dataset train_set = load_dataset(data_dir, Split::kTrain);
  if (settings.validation == kValidateOnTest) {
    return {train_set.to(device), load_dataset(data_dir, Split::kTest).to(device)};
  }
  // Fail now, not after the last epoch, if the test files are missing; they are read then.
  find_split_file(data_dir, Split::kTest, /*labels=*/false);
  find_split_file(data_dir, Split::kTest, /*labels=*/true);
  TrainValSplit split = split_for_validation(train_set, settings.val_split, settings.seed);
  return {split.train.to(device), split.val.to(device)};
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double learning_rate) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(learning_rate);
}

struct EpochContext {
  Net& model;
  torch::optim::Optimizer& optimizer;
  const Dataset& data;
  const TrainSettings& settings;
  const InterruptGuard& interrupts;
  ProcessGroup& group;
};

// This rank's part of a global batch, as model inputs. Random crops, flips and erasures are
// drawn for the whole global batch and sliced, as the dropout masks are: every rank then draws
// the same random numbers, and each image is augmented the same way whatever the world size.
torch::Tensor batch_inputs(const EpochContext& context, const torch::Tensor& batch, Part part,
                           std::int64_t epoch) {
  const TrainSettings& settings = context.settings;
  const bool random = augments_epoch(settings, epoch);
  torch::Tensor rows = random ? batch : batch.slice(/*dim=*/0, part.begin, part.end);
  torch::Tensor inputs = to_model_input(context.data.images.index_select(/*dim=*/0, rows));
  if (!random) return inputs;
  if (settings.augment) inputs = augment_batch(inputs);
  if (settings.erasing > 0) inputs = erase_batch(inputs, settings.erasing);
  return inputs.slice(/*dim=*/0, part.begin, part.end);
}

// One epoch over the global batches of the (seed, epoch) permutation; each rank takes its part
// of every batch (and of its dropout masks), so any world size takes the same steps.
SplitMetrics train_epoch(EpochContext& context, std::int64_t epoch) {
  const Dataset& data = context.data;
  ProcessGroup& group = context.group;
  const std::int64_t batch_size = context.settings.batch_size;
  context.model->train();
  torch::Device device = data.labels.device();
  torch::Tensor order = torch::randperm(data.size(), torch::kInt64).to(device);
  torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions(torch::kFloat64).device(device));
  torch::Tensor correct = torch::zeros({}, torch::TensorOptions(torch::kInt64).device(device));
  std::int64_t count = 0;
  const std::int64_t batches = (data.size() + batch_size - 1) / batch_size;
  ProgressBar progress(batches, batch_size);
  for (std::int64_t step = 0; step < batches; ++step) {
    if (auto signal_number = group.max(context.interrupts.pending_signal())) {
      throw Interrupted("training interrupted during epoch " + std::to_string(epoch),
                        static_cast<int>(signal_number));
    }
    torch::Tensor batch = order.slice(/*dim=*/0, step * batch_size, (step + 1) * batch_size);
    Part part = group.part(batch.size(0));
    context.optimizer.zero_grad();
    set_learning_rate(context.optimizer,
                      learning_rate_at_step(context.settings, epoch, step, batches));
    torch::Tensor inputs = batch_inputs(context, batch, part, epoch);
    if (part.size() > 0) {
      torch::Tensor rows = batch.slice(/*dim=*/0, part.begin, part.end);
      torch::Tensor mask;
      if (context.model->has_dropout()) {
        mask = dropout_mask(batch.size(0), seed_step(context.settings.seed, epoch, step))
                   .slice(/*dim=*/0, part.begin, part.end)
                   .to(device);
      }
      torch::Tensor labels = data.labels.index_select(/*dim=*/0, rows);
      torch::Tensor logits = context.model->forward(inputs, mask);
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          logits, labels,
          torch::nn::functional::CrossEntropyFuncOptions()
              .reduction(torch::kSum)
              .label_smoothing(context.settings.label_smoothing));
      (loss / batch.size(0)).backward();  // the global batch's mean, once the ranks' are summed
      loss_sum += loss.detach();
      correct += (logits.argmax(/*dim=*/1) == labels).sum();
      count += part.size();
    }
    group.sum_gradients(context.model->parameters());
    optimizer_step(context.optimizer, context.settings);
    if (progress.due() && count > 0) {
      progress.draw(step + 1, loss_sum.item<double>() / count, correct.item<double>() / count);
    }
  }
  SplitMetrics local = {loss_sum.item<double>() / count, correct.item<double>() / count};
  return group.mean(local, count);
}

void log_epoch(const EpochRecord& record, const TrainSettings& settings) {
  spdlog::info(
      "epoch {:>2}/{}  train loss {:.4f} acc {:.2f}%  {} loss {:.4f} acc {:.2f}%  lr {:.3g}  "
      "{:.1f} s  {:.0f} img/s",
      record.epoch, settings.epochs, record.train_loss, 100 * record.train_accuracy,
      settings.validation == kValidateOnTest ? "test" : "val", record.val_loss,
      100 * record.val_accuracy, record.learning_rate, record.seconds, record.images_per_second);
}

// Stored in checkpoints, so that a resumed run finds its files from any directory.
std::string absolute_path(const fs::path& path) {
  return fs::absolute(path).lexically_normal().string();
}

// A path as the shell takes it: quoted where it holds anything but plain characters.
std::string shell_word(const std::string& word) {
  bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("_./-+=:,").find(c) != std::string_view::npos;
  });
  if (plain) return word;
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// The command that continues this run with its data and outputs. `saved_epoch` is the last
// epoch in a checkpoint: this run's <out>.last.pt if it saved one, else the one it resumed.
// This run's checkpoints store its paths; one it resumed from may be older, and not.
std::string resume_hint(const TrainOptions& options, std::int64_t saved_epoch,
                        bool saved_this_run) {
  if (saved_epoch == 0) return "no epoch was completed, nothing was saved";
  std::string last =
      saved_this_run || !options.resume ? checkpoint_files(options).last.string() : *options.resume;
  std::string command = "fmnist train --resume " + shell_word(last);
  if (!saved_this_run) {
    if (*options.out != kDefaultOut) command += " --out " + shell_word(*options.out);
    if (options.checkpoint_dir) {
      command += " --checkpoint-dir " + shell_word(*options.checkpoint_dir);
    }
    if (options.data_dir) command += " --data " + shell_word(*options.data_dir);
  }
  return fmt::format("{} holds epoch {}; continue with: {}", last, saved_epoch, command);
}

// Every rank keeps the best epoch (their metrics are the same), so all agree on early stopping.
bool record_best(Checkpoint& checkpoint) {
  if (!(checkpoint.metrics.val.accuracy > checkpoint.best_accuracy)) return false;
  checkpoint.best_accuracy = checkpoint.metrics.val.accuracy;
  checkpoint.best_epoch = checkpoint.epoch;
  return true;
}

// The checkpoint as saved: with the optimizer's moments, so that resuming it is exact.
Checkpoint with_moments(const Checkpoint& checkpoint, const torch::optim::Optimizer& optimizer) {
  Checkpoint saved = checkpoint;
  saved.optimizer_state = optimizer_moments(optimizer);
  return saved;
}

// After every epoch: `best` if the validation accuracy improved, then `last` and the history,
// then the log line; each write is atomic, so a kill at any moment leaves the previous
// versions loadable.
void save_epoch(const Checkpoint& checkpoint, const torch::optim::Optimizer& optimizer,
                const CheckpointFiles& files, const std::vector<EpochRecord>& history,
                bool improved) {
  Checkpoint saved = with_moments(checkpoint, optimizer);
  if (improved) save_checkpoint(files.best, saved);
  save_checkpoint(files.last, saved);
  write_history_csv(history, files.history);
  write_history_plot(history, files.history_plot, checkpoint.settings.label_smoothing);
  log_epoch(history.back(), checkpoint.settings);
}

// The rows of epochs up to `epoch` that an earlier part of this run wrote, so that a resumed
// run's history covers it all. A missing or unreadable history only costs those rows.
std::vector<EpochRecord> earlier_history(const fs::path& path, std::int64_t epoch) {
  std::vector<EpochRecord> kept;
  std::error_code ec;
  if (epoch == 0 || !fs::exists(path, ec)) return kept;
  try {
    for (const EpochRecord& record : read_history_csv(path)) {
      if (record.epoch <= epoch) kept.push_back(record);
    }
  } catch (const Error& e) {
    spdlog::warn("{}; starting the history afresh", e.what());
  }
  return kept;
}

// The history to continue: this run's own file, or where the resumed run kept it when this
// one writes elsewhere (another --out or --checkpoint-dir).
fs::path previous_history(const CheckpointFiles& files, const TrainSettings& resumed) {
  std::error_code ec;
  if (fs::exists(files.history, ec) || resumed.out.empty()) return files.history;
  TrainOptions before;
  before.out = resumed.out;
  if (!resumed.checkpoint_dir.empty()) before.checkpoint_dir = resumed.checkpoint_dir;
  return checkpoint_files(before).history;
}

bool stop_early(const Checkpoint& checkpoint) {
  const std::int64_t patience = checkpoint.settings.patience;
  if (patience == 0 || checkpoint.epoch - checkpoint.best_epoch < patience) return false;
  spdlog::info(
      "stopping early: no better validation accuracy for {} epochs (best {:.2f}% at epoch {})",
      patience, 100 * checkpoint.best_accuracy, checkpoint.best_epoch);
  return true;
}

// One epoch: train and validate; returns its history row.
EpochRecord run_epoch(EpochContext& context, Checkpoint& checkpoint, const Dataset& val_set,
                      std::int64_t epoch) {
  EpochRecord record;
  record.epoch = epoch;
  record.learning_rate = learning_rate_at(checkpoint.settings, epoch);
  seed_epoch(checkpoint.settings.seed, epoch);
  auto start = Clock::now();
  checkpoint.metrics.train = train_epoch(context, epoch);
  record.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  record.images_per_second = context.data.size() / record.seconds;
  checkpoint.model->eval();
  checkpoint.metrics.val = evaluate_sharded(context.group, checkpoint.model, val_set);
  if (checkpoint.settings.validation == kValidateOnTest) {
    checkpoint.metrics.test = checkpoint.metrics.val;
  }
  record.train_loss = checkpoint.metrics.train.loss;
  record.train_accuracy = checkpoint.metrics.train.accuracy;
  record.val_loss = checkpoint.metrics.val.loss;
  record.val_accuracy = checkpoint.metrics.val.accuracy;
  return record;
}

// The one look at the test split of a run that validated on a held-out part of the train set.
void evaluate_test_once(ProcessGroup& group, Checkpoint& checkpoint, const fs::path& data_dir,
                        torch::Device device) {
  Dataset test_set = load_dataset(data_dir, Split::kTest).to(device);
  checkpoint.model->eval();
  checkpoint.metrics.test = evaluate_sharded(group, checkpoint.model, test_set);
  spdlog::info("final model on the {} test images: loss {:.4f} acc {:.2f}%", test_set.size(),
               checkpoint.metrics.test.loss, 100 * checkpoint.metrics.test.accuracy);
}

}  // namespace

Recipe resolve_recipe(const TrainOptions& options) {
  Recipe resolved = recipe(options.recipe);
  TrainSettings& s = resolved.settings;
  resolved.arch = options.arch.value_or(resolved.arch);
  s.batch_size = options.batch_size.value_or(s.batch_size);
  s.learning_rate = options.learning_rate.value_or(s.learning_rate);
  s.optimizer = options.optimizer.value_or(s.optimizer);
  s.lr_schedule = options.lr_schedule.value_or(s.lr_schedule);
  // The recipe's warm-up keeps its share of the run when only --epochs changes: rounded down,
  // but at least one epoch of a run of two or more where the recipe has one (one-cycle would
  // otherwise start at its peak).
  const std::int64_t recipe_epochs = resolved.settings.epochs;
  const std::int64_t epochs = options.epochs.value_or(recipe_epochs);
  std::int64_t warmup = s.warmup_epochs * epochs / recipe_epochs;
  if (s.warmup_epochs > 0 && warmup == 0 && epochs >= 2) warmup = 1;
  s.warmup_epochs = options.warmup_epochs.value_or(warmup);
  s.clean_epochs = options.clean_epochs.value_or(s.clean_epochs * epochs / recipe_epochs);
  s.epochs = options.epochs.value_or(s.epochs);
  s.weight_decay = options.weight_decay.value_or(s.weight_decay);
  s.label_smoothing = options.label_smoothing.value_or(s.label_smoothing);
  s.erasing = options.erasing.value_or(s.erasing);
  s.augment = options.augment.value_or(s.augment);
  s.seed = options.seed;
  s.validation = options.validation;
  s.val_split = options.validation == kValidateOnSplit ? options.val_split : 0;
  s.step_size = options.step_size;
  s.step_gamma = options.step_gamma;
  s.patience = options.patience;
  Net{resolved.arch};  // UsageError for an unknown architecture
  check_settings(s);
  return resolved;
}

CheckpointFiles checkpoint_files(const TrainOptions& options) {
  fs::path out(options.out.value_or(kDefaultOut));
  fs::path directory =
      options.checkpoint_dir ? fs::path(*options.checkpoint_dir) : out.parent_path();
  std::string stem = out.stem().string();
  return {directory / (stem + ".last.pt"), directory / (stem + ".best.pt"),
          directory / (stem + ".history.csv"), directory / (stem + ".history.png")};
}

TrainOptions with_run_paths(TrainOptions options) {
  std::error_code ec;
  if (options.resume && fs::exists(*options.resume, ec)) {  // a missing one: starting_point
    const TrainSettings stored = load_checkpoint(*options.resume, torch::kCPU).settings;
    if (!stored.out.empty()) {  // fmnist 0.3 and older stored no paths
      if (!options.out) options.out = stored.out;
      if (!options.checkpoint_dir && !stored.checkpoint_dir.empty()) {
        options.checkpoint_dir = stored.checkpoint_dir;
      }
      if (!options.data_dir) options.data_dir = stored.data_dir;
    }
  }
  if (!options.out) options.out = kDefaultOut;
  return options;
}

TrainResult train(const TrainOptions& given) {
  const TrainOptions options = with_run_paths(given);
  RankConfig ranks = resolve_rank_config(options.distributed);
  check_options(options, /*writes_files=*/ranks.rank == 0);
  configure_runtime(threads_per_rank(options.threads, ranks));
  torch::Device device = rank_device(select_device(options.device), ranks);
  ProcessGroup group = ProcessGroup::join(ranks, device);
  fs::path data_dir = resolve_data_dir(options.data_dir);
  Checkpoint checkpoint = starting_point(options, device);
  const TrainSettings resumed_settings = checkpoint.settings;  // where a resumed run wrote
  group.broadcast(checkpoint.model->parameters());
  if (device.is_cpu()) use_channels_last(*checkpoint.model);
  TrainSettings& settings = checkpoint.settings;
  settings.data_dir = absolute_path(data_dir);
  settings.out = absolute_path(*options.out);
  settings.checkpoint_dir = options.checkpoint_dir ? absolute_path(*options.checkpoint_dir) : "";
  settings.device = describe_device(device);
  RunData data = load_run_data(data_dir, settings, device);
  spdlog::info("settings: {}", training_command(checkpoint));
  spdlog::info("device {}, data {}, arch {}", settings.device, data_dir.string(), checkpoint.arch);
  std::unique_ptr<torch::optim::Optimizer> optimizer = make_optimizer(checkpoint);
  spdlog::info("training epochs {}..{}: {} training and {} {} images, batch {}",
               checkpoint.epoch + 1, settings.epochs, data.train.size(), data.val.size(),
               settings.validation == kValidateOnTest ? "test" : "validation", settings.batch_size);

  CheckpointFiles files = checkpoint_files(options);
  if (options.resume) {  // the paths may come from the checkpoint: say where they lead
    spdlog::info("continuing the run: writing {}, and {} and {} after every epoch", *options.out,
                 files.last.string(), files.history.string());
  }
  std::vector<EpochRecord> history =
      earlier_history(previous_history(files, resumed_settings), checkpoint.epoch);
  InterruptGuard interrupts;
  EpochContext context{checkpoint.model, *optimizer, data.train, settings, interrupts, group};
  TrainResult result;
  result.rank = group.rank();
  double training_seconds = 0;
  auto run_start = Clock::now();
  const std::int64_t first_epoch = checkpoint.epoch;
  while (checkpoint.epoch < settings.epochs && !stop_early(checkpoint)) {
    EpochRecord record;
    try {
      record = run_epoch(context, checkpoint, data.val, checkpoint.epoch + 1);
    } catch (const Interrupted& e) {
      if (!group.is_leader()) throw RanksInterrupted(e.exit_code());  // rank 0 says it
      throw Interrupted(std::string(e.what()) + "; " +
                            resume_hint(options, checkpoint.epoch, checkpoint.epoch > first_epoch),
                        e.signal_number());
    }
    if (!std::isfinite(record.train_loss)) {
      throw Error(
          fmt::format("training diverged: the loss became {} in epoch {}; {}; try a lower "
                      "--lr",
                      record.train_loss, record.epoch,
                      resume_hint(options, checkpoint.epoch, checkpoint.epoch > first_epoch)));
    }
    checkpoint.epoch = record.epoch;
    history.push_back(record);
    bool improved = record_best(checkpoint);
    if (group.is_leader()) save_epoch(checkpoint, *optimizer, files, history, improved);
    training_seconds += record.seconds;
    result.images_per_second = data.train.size() * ++result.epochs_run / training_seconds;
  }
  if (settings.validation == kValidateOnSplit) {
    evaluate_test_once(group, checkpoint, data_dir, device);
  }
  if (group.is_leader()) save_checkpoint(*options.out, with_moments(checkpoint, *optimizer));
  group.barrier();  // every rank succeeds only once rank 0 has saved
  result.out = *options.out;
  result.epochs = checkpoint.epoch;
  result.metrics = checkpoint.metrics;
  result.best_epoch = checkpoint.best_epoch;
  result.best_accuracy = checkpoint.best_accuracy;
  result.validation = settings.validation;
  result.seconds = std::chrono::duration<double>(Clock::now() - run_start).count();
  return result;
}

void run_train(const TrainOptions& options, std::ostream& out) {
  if (wants_launcher(options.distributed)) {
    check_options(with_run_paths(options), /*writes_files=*/true);
    launch_local_ranks(options.distributed);
    return;
  }
  TrainResult result = train(options);  // resolves the run's paths itself
  if (result.rank == 0) out << format_train_result(result) << std::endl;
}

std::string format_train_result(const TrainResult& result) {
  return fmt::format(
      "{}: test accuracy {:.2f}% (loss {:.4f}) after {} epoch{}; best {} accuracy {:.2f}% at "
      "epoch {}; {:.0f} s, {:.0f} img/s",
      result.out, 100 * result.metrics.test.accuracy, result.metrics.test.loss, result.epochs,
      result.epochs == 1 ? "" : "s", result.validation == kValidateOnTest ? "test" : "validation",
      100 * result.best_accuracy, result.best_epoch, result.seconds, result.images_per_second);
}

}  // namespace fmnist
