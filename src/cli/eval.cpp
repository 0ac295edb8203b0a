#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "fmnist/eval/evaluate.hpp"

namespace fmnist::cli {

void add_eval_command(CLI::App& app) {
  auto options = std::make_shared<EvalOptions>();
  CLI::App* command = app.add_subcommand("eval", "Evaluate a checkpoint on a data split");
  command->add_option("model,--model", options->model_path, "Checkpoint to evaluate")
      ->capture_default_str();
  command->add_option("--data", options->data_dir, "Directory of the IDX files");
  command->add_option("--split", options->split, "test or train")
      ->check(CLI::IsMember({"test", "train"}))
      ->capture_default_str();
  command->add_flag("--json", options->json, "Write the report as one JSON document");
  CLI::Option* plots =
      command->add_option("--plots", options->plots_dir,
                          "Directory for <model stem>.confusion.png and <model stem>.errors.png "
                          "(default: the model's directory)");
  command->add_flag("--no-plots", options->no_plots, "Write no PNG files")->excludes(plots);
  command->add_flag("--tta", options->tta,
                    "Test-time augmentation: average each image's scores with its mirror's");
  add_runtime_flags(*command, options->device, options->threads);
  command->callback([options] { run_eval(*options, std::cout); });
}

}  // namespace fmnist::cli
