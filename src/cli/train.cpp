#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "fmnist/train.hpp"

namespace fmnist::cli {

void add_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  CLI::App* command = app.add_subcommand("train", "Train the classifier and save a checkpoint");
  command->add_option("--epochs", options->epochs, "Epochs to train in all")
      ->check(positive_number())
      ->capture_default_str();
  command->add_option("--batch-size", options->batch_size, "Images per training step")
      ->check(positive_number())
      ->capture_default_str();
  command->add_option("--lr", options->learning_rate, "Adam learning rate")
      ->check(positive_number())
      ->capture_default_str();
  command->add_option("--seed", options->seed, "Seed of initialisation, shuffling and dropout")
      ->capture_default_str();
  command->add_option("--data", options->data_dir,
                      "Directory of the IDX files (default: $FMNIST_DATA, ./data, "
                      "/usr/share/datasets/fashion-mnist)");
  command->add_option("--out", options->out, "Checkpoint of the final model")
      ->capture_default_str();
  command->add_option("--checkpoint-dir", options->checkpoint_dir,
                      "Where to keep <out>.last.pt and <out>.best.pt, written after every "
                      "epoch (default: beside --out)");
  command->add_option(
      "--resume", options->resume,
      "Checkpoint to continue from (weights, optimizer state, epoch; its batch size, "
      "learning rate and seed are kept)");
  add_runtime_flags(*command, options->device, options->threads);
  command->callback([options] {
    TrainResult result = train(*options);
    std::cout << format_train_result(result, options->out) << std::endl;
  });
}

CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& input) -> std::string {
        double value = 0;
        bool parsed = CLI::detail::lexical_cast(input, value);
        return parsed && value > 0 ? "" : "must be a number above 0, not '" + input + "'";
      },
      "POSITIVE");
}

void add_runtime_flags(CLI::App& command, std::string& device, int& threads) {
  command.add_option("--device", device, "auto (CUDA if available), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  command.add_option("--threads", threads, "CPU threads (0: one per core)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
}

}  // namespace fmnist::cli
