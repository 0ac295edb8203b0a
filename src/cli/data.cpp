#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "fmnist/data/data_verify.hpp"

namespace fmnist::cli {

void add_data_command(CLI::App& app) {
  CLI::App* data = app.add_subcommand("data", "Work with the data set");
  data->require_subcommand(1);
  auto options = std::make_shared<DataVerifyOptions>();
  CLI::App* verify = data->add_subcommand(
      "verify", "Check the four data files against Fashion-MNIST's SHA-256 sums and sizes");
  verify->add_option("--data", options->data_dir, "Directory of the IDX files");
  verify->callback([options] { run_data_verify(*options, std::cout); });
}

}  // namespace fmnist::cli
