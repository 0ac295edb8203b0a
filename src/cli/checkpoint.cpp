#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "fmnist/model/checkpoint.hpp"

namespace fmnist::cli {

void add_checkpoint_command(CLI::App& app) {
  CLI::App* checkpoint = app.add_subcommand("checkpoint", "Work with checkpoint files");
  checkpoint->require_subcommand(1);
  auto options = std::make_shared<CheckpointUpgradeOptions>();
  CLI::App* upgrade = checkpoint->add_subcommand(
      "upgrade", "Rewrite a checkpoint of an earlier fmnist in the current format (checked first)");
  upgrade->add_option("old", options->from, "The checkpoint to read")->required();
  upgrade->add_option("new", options->to, "Where to write it (may be the same file)")->required();
  upgrade->callback([options] { run_checkpoint_upgrade(*options, std::cout); });
}

}  // namespace fmnist::cli
