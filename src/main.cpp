#include <CLI/CLI.hpp>

#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "fmnist/base/error.hpp"
#include "fmnist/base/logging.hpp"

namespace {

constexpr const char* kExitCodes =
    "Exit status: 0 ok, 1 runtime error (bad file, failed write, ...), 2 usage error,\n"
    "130/143 training interrupted by SIGINT/SIGTERM (the last checkpoint is kept).";

// CLI11 says only "A subcommand is required" when the word after a command that takes
// subcommands (fmnist, fmnist data) is not one of them; name the word and the choices.
std::string usage_message(const CLI::App& app, const CLI::ParseError& error) {
  const CLI::App* command = &app;
  while (!command->get_subcommands().empty()) command = command->get_subcommands().front();
  auto any = [](const CLI::App*) { return true; };
  std::vector<const CLI::App*> choices = command->get_subcommands(any);
  std::vector<std::string> words = app.remaining(/*recurse=*/true);
  if (dynamic_cast<const CLI::RequiredError*>(&error) == nullptr || choices.empty() ||
      words.empty()) {
    return fmnist::first_line(error.what());
  }
  std::string names;
  for (const CLI::App* choice : choices) names += (names.empty() ? "" : ", ") + choice->get_name();
  std::string of = command == &app ? "" : " of " + command->get_name();
  return "'" + words.front() + "' is not a subcommand" + of + " (" + names + ")";
}

int run(int argc, char** argv) {
  CLI::App app{"fmnist: train, evaluate and run a Fashion-MNIST image classifier", "fmnist"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the subcommand
  app.footer(kExitCodes);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  auto* quiet = app.add_flag("-q,--quiet", "Log only warnings and errors");
  std::optional<std::string> log_file;
  app.add_option("--log-file", log_file, "Also append the log to this file");
  app.parse_complete_callback(
      [&] { fmnist::setup_logging(quiet->count() > 0 ? "warn" : log_level, log_file); });
  fmnist::cli::add_train_command(app);
  fmnist::cli::add_eval_command(app);
  fmnist::cli::add_predict_command(app);
  fmnist::cli::add_info_command(app);
  fmnist::cli::add_summary_command(app);
  fmnist::cli::add_show_command(app);
  fmnist::cli::add_data_command(app);
  fmnist::cli::add_checkpoint_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    fmnist::report_error(usage_message(app, e) + " (see fmnist --help)");
    return fmnist::kExitUsageError;
  }
  return fmnist::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const fmnist::AlreadyReported& e) {
    return e.exit_code();
  } catch (const fmnist::Error& e) {
    fmnist::report_error(e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    fmnist::report_error(fmnist::describe(e));
    return fmnist::kExitRuntimeError;
  }
}
