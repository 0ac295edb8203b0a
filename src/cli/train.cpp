#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>

#include <spdlog/fmt/fmt.h>

#include "cli/commands.hpp"
#include "fmnist/train/recipe.hpp"
#include "fmnist/train/train.hpp"

namespace fmnist::cli {
namespace {

// CLI11 saturates integers too large for their type instead of refusing them, so the integer
// flags get an explicit range: far beyond any useful value, but not endless.
constexpr std::int64_t kMaxEpochs = 1'000'000;
constexpr std::int64_t kMaxBatchSize = 1 << 24;

// " (tutorial: 20, accurate: 30)": what each recipe sets a flag to, for the flag's help.
std::string per_recipe(const std::function<std::string(const Recipe&)>& value) {
  std::string text;
  for (const std::string& name : recipe_names()) {
    text += (text.empty() ? " (" : ", ") + name + ": " + value(recipe(name));
  }
  return text + ")";
}

template <typename T>
std::function<std::string(const Recipe&)> setting(T TrainSettings::*field) {
  return [field](const Recipe& r) { return fmt::format("{}", r.settings.*field); };
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  CLI::App* command = app.add_subcommand("train", "Train the classifier and save a checkpoint");
  command
      ->add_option("--recipe", options->recipe,
                   "tutorial (the Keras tutorial's network and Adam) or accurate (a residual "
                   "network, AdamW, one-cycle schedule, label smoothing, flips and shifts: "
                   "about 94%); the flags below override its settings")
      ->check(CLI::IsMember(recipe_names()))
      ->capture_default_str();
  const char* recipe_settings = "Recipe settings (default: the recipe's)";
  command
      ->add_option("--arch", options->arch,
                   "cnn (the tutorial's), cnn-bn or resnet" +
                       per_recipe([](const Recipe& r) { return r.arch; }))
      ->check(CLI::IsMember(supported_archs()))
      ->group(recipe_settings);
  command
      ->add_option("--epochs", options->epochs,
                   "Epochs to train in all" + per_recipe(setting(&TrainSettings::epochs)))
      ->check(whole_number(1, kMaxEpochs))
      ->group(recipe_settings);
  command
      ->add_option("--batch-size", options->batch_size,
                   "Images per training step" + per_recipe(setting(&TrainSettings::batch_size)))
      ->check(whole_number(1, kMaxBatchSize))
      ->group(recipe_settings);
  command
      ->add_option("--optimizer", options->optimizer,
                   "adam, adamw (decoupled weight decay) or sgd (Nesterov momentum 0.9)" +
                       per_recipe(setting(&TrainSettings::optimizer)))
      ->check(CLI::IsMember({kOptimizerAdam, kOptimizerAdamW, kOptimizerSgd}))
      ->group(recipe_settings);
  command
      ->add_option(
          "--lr", options->learning_rate,
          "Learning rate (onecycle: its peak)" + per_recipe(setting(&TrainSettings::learning_rate)))
      ->check(positive_number())
      ->group(recipe_settings);
  command
      ->add_option("--lr-schedule", options->lr_schedule,
                   "none, step (x step-gamma every step-size epochs), cosine or onecycle (per "
                   "step: up from lr/25 over the warm-up, then down to nearly 0)" +
                       per_recipe(setting(&TrainSettings::lr_schedule)))
      ->check(CLI::IsMember({kScheduleNone, kScheduleStep, kScheduleCosine, kScheduleOneCycle}))
      ->group(recipe_settings);
  command
      ->add_option("--warmup-epochs", options->warmup_epochs,
                   "Epochs of learning-rate warm-up before the schedule" +
                       per_recipe(setting(&TrainSettings::warmup_epochs)))
      ->check(whole_number(0))
      ->group(recipe_settings);
  command
      ->add_option("--weight-decay", options->weight_decay,
                   "adam, sgd: L2 penalty added to the gradients; adamw: decoupled decay" +
                       per_recipe(setting(&TrainSettings::weight_decay)))
      ->check(non_negative_number())
      ->group(recipe_settings);
  command
      ->add_option("--label-smoothing", options->label_smoothing,
                   "Weight of the uniform distribution mixed into the loss's targets" +
                       per_recipe(setting(&TrainSettings::label_smoothing)))
      ->check(number_between(0.0, 0.99))
      ->group(recipe_settings);
  command
      ->add_option("--erasing", options->erasing,
                   "Probability of erasing a random rectangle of each training image" +
                       per_recipe(setting(&TrainSettings::erasing)))
      ->check(number_between(0.0, 1.0))
      ->group(recipe_settings);
  CLI::Option* augment =
      command
          ->add_flag_callback(
              "--augment", [options] { options->augment = true; },
              "Random left-right flips and shifts of up to 2 pixels while training" +
                  per_recipe([](const Recipe& r) { return r.settings.augment ? "yes" : "no"; }))
          ->group(recipe_settings);
  command
      ->add_flag_callback(
          "--no-augment", [options] { options->augment = false; }, "No --augment")
      ->group(recipe_settings)
      ->excludes(augment);
  command
      ->add_option("--clean-epochs", options->clean_epochs,
                   "Train the last N epochs without --augment's and --erasing's changes" +
                       per_recipe(setting(&TrainSettings::clean_epochs)))
      ->check(whole_number(0))
      ->group(recipe_settings);
  command->add_option("--seed", options->seed, "Seed of initialisation, shuffling and dropout")
      ->check(whole_number(0))
      ->capture_default_str();
  command
      ->add_option("--val", options->validation,
                   "Validate and pick the best model on: split (held out of the training "
                   "set; the test set is read once, at the end) or test (the tutorial's way)")
      ->check(CLI::IsMember({kValidateOnSplit, kValidateOnTest}))
      ->capture_default_str();
  command
      ->add_option("--val-split", options->val_split,
                   "Fraction of each class held out for validation")
      ->check(open_fraction())
      ->capture_default_str();
  command->add_option("--step-size", options->step_size, "Epochs between steps of 'step'")
      ->check(whole_number(1))
      ->capture_default_str();
  command->add_option("--step-gamma", options->step_gamma, "Factor of each step of 'step'")
      ->check(positive_number())
      ->capture_default_str();
  command
      ->add_option("--patience", options->patience,
                   "Stop after this many epochs without a better validation accuracy (0: "
                   "never)")
      ->check(whole_number(0))
      ->capture_default_str();
  command->add_option("--data", options->data_dir,
                      "Directory of the IDX files (default: $FMNIST_DATA, ./data, "
                      "/usr/share/datasets/fashion-mnist)");
  command->add_option("--out", options->out,
                      "Checkpoint of the final model (default: model.pt; with --resume, the "
                      "run's own)");
  command->add_option("--checkpoint-dir", options->checkpoint_dir,
                      "Where to keep <out>.last.pt and <out>.best.pt, written after every "
                      "epoch (default: beside --out)");
  command->add_flag("--force", options->force,
                    "Replace an existing --out and its .last/.best/history files (a new run "
                    "refuses to)");
  command->add_option(
      "--resume", options->resume,
      "Checkpoint to continue from (weights, optimizer state, epoch; its training settings are "
      "kept: only --epochs (default: the checkpoint's), --data, --out, --checkpoint-dir "
      "(default: the run's own), --device and --threads may differ)");
  add_runtime_flags(*command, options->device, options->threads);
  add_distributed_flags(*command, options->distributed);
  command->callback([options] { run_train(*options, std::cout); });
}

void add_distributed_flags(CLI::App& command, DistributedOptions& options) {
  const char* group = "Data-parallel training (torchrun's environment variables work too)";
  command.add_option("--nproc", options.nproc, "Start this many ranks on this machine")
      ->check(whole_number(1, 1024))
      ->capture_default_str()
      ->group(group);
  command.add_option("--rank", options.rank, "Rank of this process (default: $RANK)")
      ->check(whole_number(0, std::numeric_limits<int>::max()))
      ->group(group);
  command
      .add_option("--world-size", options.world_size,
                  "Number of ranks on all machines (default: $WORLD_SIZE, else 1)")
      ->check(whole_number(1, std::numeric_limits<int>::max()))
      ->group(group);
  command
      .add_option("--local-rank", options.local_rank,
                  "Rank on this machine, picks the GPU (default: $LOCAL_RANK, else --rank)")
      ->check(whole_number(0, std::numeric_limits<int>::max()))
      ->group(group);
  command
      .add_option("--master-addr", options.master_addr,
                  "Host of rank 0's TCPStore (default: $MASTER_ADDR, else 127.0.0.1)")
      ->group(group);
  command
      .add_option("--master-port", options.master_port,
                  "Port of rank 0's TCPStore (default: $MASTER_PORT, else 29500)")
      ->check(whole_number(1, 65535))
      ->group(group);
  command
      .add_option("--dist-timeout", options.timeout_seconds,
                  "Seconds to wait for the other ranks before failing")
      ->check(positive_number())
      ->capture_default_str()
      ->group(group);
}

namespace {

// Accepts what parses as a T and passes `accept`; otherwise "must be <requirement>, not 'x'".
template <typename T>
CLI::Validator value_check(std::function<bool(T)> accept, const std::string& requirement,
                           const std::string& name) {
  return CLI::Validator(
      [accept, requirement](std::string& input) -> std::string {
        T value{};
        bool parsed = CLI::detail::lexical_cast(input, value);
        return parsed && accept(value) ? "" : "must be " + requirement + ", not '" + input + "'";
      },
      name);
}

}  // namespace

CLI::Validator positive_number() {
  return value_check<double>([](double v) { return v > 0; }, "a number above 0", "POSITIVE");
}

CLI::Validator non_negative_number() {
  return value_check<double>([](double v) { return v >= 0; }, "a number of at least 0",
                             "NON-NEGATIVE");
}

CLI::Validator open_fraction() {
  return value_check<double>([](double v) { return v > 0 && v < 1; },
                             "a number above 0 and below 1", "FRACTION");
}

CLI::Validator whole_number(std::int64_t low, std::int64_t high) {
  const bool bounded = high != std::numeric_limits<std::int64_t>::max();
  std::string requirement =
      bounded ? "a whole number from " + std::to_string(low) + " to " + std::to_string(high)
              : "a whole number of at least " + std::to_string(low);
  std::string name = bounded    ? "[" + std::to_string(low) + " - " + std::to_string(high) + "]"
                     : low == 0 ? "NON-NEGATIVE"
                     : low == 1 ? "POSITIVE"
                                : ">= " + std::to_string(low);
  return value_check<std::int64_t>([low, high](std::int64_t v) { return v >= low && v <= high; },
                                   requirement, name);
}

CLI::Validator number_between(double low, double high) {
  std::ostringstream requirement;
  requirement << "a number from " << low << " to " << high;
  return value_check<double>(
      [low, high](double v) { return v >= low && v <= high; }, requirement.str(),
      "[" + CLI::detail::to_string(low) + " - " + CLI::detail::to_string(high) + "]");
}

void add_runtime_flags(CLI::App& command, std::string& device, int& threads) {
  command.add_option("--device", device, "auto (CUDA if available), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  command.add_option("--threads", threads, "CPU threads (0: one per core)")
      ->check(whole_number(0, 1024))
      ->capture_default_str();
}

}  // namespace fmnist::cli
