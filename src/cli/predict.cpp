#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "fmnist/predict.hpp"

namespace fmnist::cli {

void add_predict_command(CLI::App& app) {
  auto options = std::make_shared<PredictOptions>();
  CLI::App* command = app.add_subcommand("predict", "Classify image files");
  command->add_option("images", options->images, "Images (PNG, JPEG, GIF, BMP, binary PGM/PPM)")
      ->required();
  command->add_option("--model", options->model_path, "Checkpoint to use")->capture_default_str();
  command->add_option("--top-k", options->top_k, "Classes to show per image, best first")
      ->check(CLI::Range(1, 10))
      ->capture_default_str();
  add_runtime_flags(*command, options->device, options->threads);
  command->callback([options] { run_predict(*options, std::cout); });
}

}  // namespace fmnist::cli
