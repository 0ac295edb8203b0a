#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "fmnist/report/summary.hpp"

namespace fmnist::cli {

void add_summary_command(CLI::App& app) {
  auto options = std::make_shared<SummaryOptions>();
  CLI::App* command =
      app.add_subcommand("summary", "Show a model's layers, output shapes and parameter counts");
  command->add_option("--arch", options->arch, "cnn, cnn-bn or resnet")
      ->check(CLI::IsMember(supported_archs()))
      ->capture_default_str();
  command->callback([options] { run_summary(*options, std::cout); });
}

}  // namespace fmnist::cli
