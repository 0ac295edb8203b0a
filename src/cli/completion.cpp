#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "fmnist/base/error.hpp"
#include "fmnist/base/version.hpp"
#include "fmnist/manual/completion.hpp"
#include "fmnist/manual/man_page.hpp"

namespace fmnist::cli {
namespace {

struct CompletionOptions {
  std::string shell;
};

}  // namespace

void add_completion_command(CLI::App& app) {
  auto options = std::make_shared<CompletionOptions>();
  CLI::App* completion = app.add_subcommand(
      "completion",
      "Print the shell completion script for bash or zsh (installed with fmnist; e.g. "
      "source <(fmnist completion bash))");
  completion->add_option("shell", options->shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  completion->callback([&app, options] {
    CommandSpec spec = command_spec(app);
    std::cout << (options->shell == "bash" ? bash_completion(spec) : zsh_completion(spec));
  });
  CLI::App* manual = app.add_subcommand(
      "manual",
      "Print fmnist's manual page in man(7) format (installed as man fmnist; or: "
      "fmnist manual | man -l -)");
  manual->callback([&app] {
    const std::string version = version_text();  // its first line: "fmnist 0.5.0 (git ...)"
    std::cout << man_page(command_spec(app), version.substr(0, version.find('\n')));
  });
}

}  // namespace fmnist::cli
