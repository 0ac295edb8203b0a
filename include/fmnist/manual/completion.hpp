#pragma once

#include <string>

#include "fmnist/manual/command_spec.hpp"

namespace fmnist {

// Shell completion for every command and option of `fmnist`: subcommands, options, the values
// of options with choices, .pt files for checkpoints, image files and directories.
// bash: for bash-completion (share/bash-completion/completions/fmnist).
std::string bash_completion(const CommandSpec& fmnist);
// zsh: a #compdef function (share/zsh/vendor-completions/_fmnist).
std::string zsh_completion(const CommandSpec& fmnist);

}  // namespace fmnist
