#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <limits>
#include <string>

#include "fmnist/manual/command_spec.hpp"
#include "fmnist/train/distributed.hpp"

// One function per subcommand: each declares its flags into an options struct of the library
// and sets the callback that calls it. No logic lives here.
namespace fmnist::cli {

void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_summary_command(CLI::App& app);
void add_show_command(CLI::App& app);
void add_data_command(CLI::App& app);
void add_checkpoint_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_completion_command(CLI::App& app);  // completion bash|zsh, and manual

// The commands and flags of `app` (fmnist), from which the man page and completion are written.
CommandSpec command_spec(const CLI::App& app);

// Accept numbers above zero / at least zero / strictly between 0 and 1, with a plain message
// otherwise.
CLI::Validator positive_number();
CLI::Validator non_negative_number();
CLI::Validator open_fraction();
// A whole number / any number from `low` to `high` ("must be a whole number from 1 to 10, not
// 'two'"); CLI::Range's "Value two not in range" reads as if two were a number.
CLI::Validator whole_number(std::int64_t low,
                            std::int64_t high = std::numeric_limits<std::int64_t>::max());
CLI::Validator number_between(double low, double high);

// --device and --threads, which train, eval and predict take.
void add_runtime_flags(CLI::App& command, std::string& device, int& threads);

// --nproc, --rank, --world-size, --local-rank, --master-addr, --master-port, --dist-timeout.
void add_distributed_flags(CLI::App& command, DistributedOptions& options);

}  // namespace fmnist::cli
