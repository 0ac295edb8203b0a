#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "fmnist/report/show.hpp"

namespace fmnist::cli {

void add_show_command(CLI::App& app) {
  auto options = std::make_shared<ShowOptions>();
  CLI::App* command =
      app.add_subcommand("show", "Draw data-set images with their labels into a PNG grid");
  command->add_option("--data", options->data_dir, "Directory of the IDX files");
  command->add_option("--split", options->split, "test or train")
      ->check(CLI::IsMember({"test", "train"}))
      ->capture_default_str();
  command->add_option("--index", options->index, "First image to show (default 0)")
      ->check(whole_number(0));
  command->add_option("--class", options->class_name,
                      "Show the first images of this class instead, e.g. Bag or 'Ankle boot'");
  command->add_option("--count", options->count, "How many images")
      ->check(whole_number(1, kMaxShowCount))
      ->capture_default_str();
  command->add_option("--out", options->out, "PNG to write")->capture_default_str();
  command->callback([options] { run_show(*options, std::cout); });
}

}  // namespace fmnist::cli
