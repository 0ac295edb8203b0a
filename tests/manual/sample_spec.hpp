#pragma once

#include <string>
#include <utility>
#include <vector>

#include "fmnist/manual/command_spec.hpp"

namespace fmnist {

// One option or positional argument of the made-up command lines the manual tests render; a
// positional is required and repeats, as predict's images are.
inline ArgumentSpec sample_argument(std::vector<std::string> names, std::string value_name,
                                    std::string description, std::vector<std::string> choices,
                                    ValueKind kind, bool positional) {
  ArgumentSpec spec;
  spec.names = std::move(names);
  spec.value_name = std::move(value_name);
  spec.description = std::move(description);
  spec.choices = std::move(choices);
  spec.kind = kind;
  spec.positional = positional;
  spec.required = positional;
  spec.repeats = positional;
  return spec;
}

}  // namespace fmnist
