#include <CLI/CLI.hpp>

#include <algorithm>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "fmnist/base/error.hpp"
#include "fmnist/base/exit.hpp"
#include "fmnist/base/logging.hpp"
#include "fmnist/base/suggest.hpp"
#include "fmnist/base/version.hpp"

namespace {

constexpr const char* kFooter =
    "Global flags, before or after the subcommand: --log-level LEVEL, -q/--quiet,\n"
    "--log-file PATH.\n"
    "Exit status: 0 ok, 1 runtime error (bad file, failed write, ...), 2 usage error,\n"
    "130/143 training interrupted by SIGINT/SIGTERM (the last checkpoint is kept).";

// The flags that choose where the model runs; only train, eval and predict have them.
bool is_compute_flag(const std::string& name) { return name == "--device" || name == "--threads"; }

// The deepest subcommand on the command line ("fmnist data verify": verify), or the app.
const CLI::App* parsed_command(const CLI::App& app) {
  const CLI::App* command = &app;
  while (!command->get_subcommands().empty()) command = command->get_subcommands().front();
  return command;
}

// "fmnist data verify" for that subcommand.
std::string command_path(const CLI::App* command) {
  std::string path;
  for (; command != nullptr; command = command->get_parent()) {
    path = command->get_name() + (path.empty() ? "" : " " + path);
  }
  return path;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& names) {
  std::optional<std::string> name = fmnist::closest_name(word, names);
  return name ? "; did you mean " + *name + "?" : "";
}

// The long flags that `command` and the commands above it (the global flags) take.
std::vector<std::string> flag_names(const CLI::App* command) {
  std::vector<std::string> names;
  for (; command != nullptr; command = command->get_parent()) {
    for (const CLI::Option* option : command->get_options()) {
      for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
    }
  }
  return names;
}

// CLI11's own words name no choices and no near miss: "A subcommand is required" for an unknown
// subcommand, "The following arguments were not expected: 1 --epoch" (in reverse order) for an
// unknown flag. Say what was wrong, what was probably meant, and where that command's help is.
std::string usage_message(const CLI::App& app, const CLI::ParseError& error) {
  const CLI::App* command = parsed_command(app);
  const std::string see = " (see " + command_path(command) + " --help)";
  std::vector<std::string> words = app.remaining(/*recurse=*/true);
  auto any = [](const CLI::App*) { return true; };
  std::vector<const CLI::App*> choices = command->get_subcommands(any);
  if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr && !choices.empty() &&
      !words.empty()) {
    std::vector<std::string> names;
    for (const CLI::App* choice : choices) names.push_back(choice->get_name());
    std::string listed;
    for (const std::string& name : names) listed += (listed.empty() ? "" : ", ") + name;
    std::string of = command == &app ? "" : " of " + command->get_name();
    return "'" + words.front() + "' is not a subcommand" + of + " (" + listed + ")" +
           did_you_mean(words.front(), names) + see;
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr && !words.empty()) {
    auto flag = std::find_if(words.begin(), words.end(),
                             [](const std::string& w) { return w.rfind("-", 0) == 0; });
    if (flag != words.end()) {
      std::string name = flag->substr(0, flag->find('='));
      if (is_compute_flag(name)) {
        return command_path(command) + ": unknown flag " + name +
               ": only train, eval and predict, which run the model on data, take --device "
               "and --threads" +
               see;
      }
      return command_path(command) + ": unknown flag " + name +
             did_you_mean(name, flag_names(command)) + see;
    }
    return command_path(command) + ": unexpected argument '" + words.front() + "'" + see;
  }
  const std::string what = fmnist::first_line(error.what());
  const std::string flag = what.substr(0, what.find(':'));
  // A global flag's help is fmnist's own, wherever on the line the flag stood.
  const std::vector<std::string> global = flag_names(&app);
  const bool is_global = std::find(global.begin(), global.end(), flag) != global.end();
  const std::string where = is_global ? " (see fmnist --help)" : see;
  // CLI11 says "--epochs: 1 required INT:[1 - 1000000] missing" for a flag left without a value.
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr && what.size() >= 8 &&
      what.compare(what.size() - 8, 8, " missing") == 0) {
    return flag + ": needs a value" + where;
  }
  // "--model: At Most 1 required but received 2": a positional argument that is also a flag
  // (`serve a.pt --model b.pt`), or a flag given twice.
  if (const std::string extra = "At Most 1 required but received ";
      dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr &&
      what.find(extra) != std::string::npos) {
    const CLI::Option* option = command->get_option_no_throw(flag);
    return flag + ": takes one value, given " + what.substr(what.find(extra) + extra.size()) +
           (option != nullptr && option->get_positional()
                ? "; a bare argument in its place is " + flag + " too"
                : "") +
           where;
  }
  return what + where;
}

int run(int argc, char** argv) {
  CLI::App app{"fmnist: train, evaluate and run a Fashion-MNIST image classifier", "fmnist"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the subcommand
  app.footer(kFooter);
  app.set_version_flag("-V,--version", fmnist::version_text,
                       "Print the versions of fmnist and LibTorch, and whether CUDA is available");
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "How much to log")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  auto* quiet = app.add_flag("-q,--quiet", "Log only warnings and errors");
  std::optional<std::string> log_file;
  app.add_option("--log-file", log_file, "Also append the log to this file");
  app.parse_complete_callback(
      [&] { fmnist::setup_logging(quiet->count() > 0 ? "warn" : log_level, log_file); });
  fmnist::cli::add_train_command(app);
  fmnist::cli::add_eval_command(app);
  fmnist::cli::add_predict_command(app);
  fmnist::cli::add_serve_command(app);
  fmnist::cli::add_info_command(app);
  fmnist::cli::add_summary_command(app);
  fmnist::cli::add_show_command(app);
  fmnist::cli::add_data_command(app);
  fmnist::cli::add_checkpoint_command(app);
  fmnist::cli::add_completion_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    fmnist::report_error(usage_message(app, e));
    return fmnist::kExitUsageError;
  }
  return fmnist::kExitOk;
}

int run_and_report(int argc, char** argv) {
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

}  // namespace

int main(int argc, char** argv) { fmnist::exit_skipping_destructors(run_and_report(argc, argv)); }
