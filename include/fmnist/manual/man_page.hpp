#pragma once

#include <string>

#include "fmnist/manual/command_spec.hpp"

namespace fmnist {

// fmnist(1) in man(7) format: every command with all its options, then exit status,
// environment, files and examples. `version` ("fmnist 0.5.0 (git ...)") heads the page.
std::string man_page(const CommandSpec& fmnist, const std::string& version);

}  // namespace fmnist
