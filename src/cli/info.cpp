#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "fmnist/report/summary.hpp"

namespace fmnist::cli {

void add_info_command(CLI::App& app) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* command = app.add_subcommand(
      "info",
      "Show how a checkpoint was trained (settings, data, versions, metrics) and its layers");
  command->add_option("model,--model", options->model_path, "Checkpoint to describe")
      ->capture_default_str();
  command->add_flag("--json", options->json,
                    "Write it as one JSON document (what fmnist serve answers at /v1/model)");
  command->callback([options] { run_info(*options, std::cout); });
}

}  // namespace fmnist::cli
