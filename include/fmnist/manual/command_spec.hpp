#pragma once

#include <string>
#include <vector>

namespace fmnist {

// What an argument's value is, so that completion can offer the right words or files.
enum class ValueKind {
  kNone,        // a flag: no value
  kWord,        // text or a number: nothing to offer
  kChoice,      // one of `choices`
  kCheckpoint,  // a .pt file
  kImage,       // an image file or a directory of them
  kDirectory,
  kFile,  // any file
};

// One option or positional argument of a command, as its --help lists it.
struct ArgumentSpec {
  std::vector<std::string> names;  // "-q", "--quiet"; a positional's one name, e.g. "images"
  std::string value_name;          // "N", "TEXT", ...; empty for a flag
  std::string description;
  std::vector<std::string> choices;  // for ValueKind::kChoice
  ValueKind kind = ValueKind::kNone;
  bool positional = false;
  std::string default_value;  // as --help shows it; empty for none
  bool required = false;
  bool repeats = false;  // takes any number of values (predict's images)
};

// A command and its subcommands: what the man page and the completion scripts are written from
// (cli/ builds it from the command line's own definitions, so they cannot drift apart).
struct CommandSpec {
  std::string name;  // "fmnist", "train", "verify"
  std::string description;
  std::vector<ArgumentSpec> arguments;
  std::vector<CommandSpec> subcommands;
};

}  // namespace fmnist
