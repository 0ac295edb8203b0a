#include <iostream>
#include <memory>

#include <spdlog/fmt/fmt.h>

#include "cli/commands.hpp"
#include "fmnist/predict/predict.hpp"

namespace fmnist::cli {

void add_predict_command(CLI::App& app) {
  auto options = std::make_shared<PredictOptions>();
  CLI::App* command = app.add_subcommand("predict", "Classify image files");
  command
      ->add_option("images", options->inputs,
                   "Image files (PNG, JPEG, GIF, BMP, binary PGM/PPM), directories (searched "
                   "recursively), or - for paths on stdin, one a line")
      ->required();
  command->add_option("--model", options->model_path, "Checkpoint to use")->capture_default_str();
  command->add_option("--top-k", options->top_k, "Classes to show per image, best first")
      ->check(whole_number(1, 10))
      ->capture_default_str();
  command->add_option("--format", options->format, "text, json (one document) or csv")
      ->check(CLI::IsMember({"text", "json", "csv"}))
      ->capture_default_str();
  command->add_option("--save-input", options->save_input_dir,
                      "Write the 28x28 image the model saw for each input into this directory");
  command->add_option("--batch-size", options->batch_size, "Images per forward pass")
      ->check(whole_number(1))
      ->capture_default_str();
  command->add_flag("--tta", options->tta,
                    "Test-time augmentation: average each image's scores with its mirror's");
  add_runtime_flags(*command, options->device, options->threads);
  command->get_option("--threads")
      ->description(fmt::format("CPU threads (0: one per core; fewer than {} files of under {} "
                                "MiB in all, one)",
                                kFewInputFiles, kSmallInputBytes >> 20));
  command->callback([options] { run_predict(*options, std::cin, std::cout); });
}

}  // namespace fmnist::cli
