#pragma once

#include <CLI/CLI.hpp>

#include <string>

// One function per subcommand: each declares its flags into an options struct of the library
// and sets the callback that calls it. No logic lives here.
namespace fmnist::cli {

void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_show_command(CLI::App& app);
void add_data_command(CLI::App& app);

// Accepts numbers above zero, with a plain message otherwise.
CLI::Validator positive_number();

// --device and --threads, which every subcommand takes.
void add_runtime_flags(CLI::App& command, std::string& device, int& threads);

}  // namespace fmnist::cli
