#include <string>
#include <vector>

#include "cli/commands.hpp"

namespace fmnist::cli {
namespace {

// What completion offers for an option's value: from its name, where the name says what it
// is, and from the choices its validator lists ("TEXT:{a,b}").
ValueKind value_kind(const std::string& name, const std::vector<std::string>& choices) {
  if (!choices.empty()) return ValueKind::kChoice;
  for (const char* checkpoint : {"--model", "--resume", "model", "old", "new"}) {
    if (name == checkpoint) return ValueKind::kCheckpoint;
  }
  if (name == "images") return ValueKind::kImage;
  for (const char* directory : {"--data", "--checkpoint-dir", "--save-input", "--plots"}) {
    if (name == directory) return ValueKind::kDirectory;
  }
  if (name == "--out" || name == "--log-file") return ValueKind::kFile;
  return ValueKind::kWord;
}

// "TEXT:{text,json,csv}" -> "TEXT" and its choices.
std::vector<std::string> split_choices(std::string& type_name) {
  std::vector<std::string> choices;
  std::size_t open = type_name.find(":{");
  if (open == std::string::npos || type_name.back() != '}') return choices;
  std::string list = type_name.substr(open + 2, type_name.size() - open - 3);
  type_name.erase(open);
  for (std::size_t start = 0; start <= list.size();) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    choices.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return choices;
}

std::vector<ArgumentSpec> arguments_of(const CLI::App& app) {
  std::vector<ArgumentSpec> arguments;
  for (const CLI::Option* option : app.get_options()) {
    if (option->get_group().empty()) continue;  // hidden from --help: from these too
    std::string type_name = option->get_type_name();
    std::vector<std::string> choices = split_choices(type_name);
    type_name = type_name.substr(0, type_name.find(':'));  // "INT:[1 - 10]": the validator's
    const bool flag = option->get_expected_max() == 0;
    if (!option->get_snames().empty() || !option->get_lnames().empty()) {
      ArgumentSpec named;
      for (const std::string& name : option->get_snames()) named.names.push_back("-" + name);
      for (const std::string& name : option->get_lnames()) named.names.push_back("--" + name);
      named.description = option->get_description();
      if (!flag) {
        named.default_value = option->get_default_str();
        named.value_name = type_name;
        named.choices = choices;
        named.kind = value_kind(named.names.back(), choices);
      }
      arguments.push_back(named);
    }
    if (option->get_positional()) {
      const std::string name = option->get_name(/*positional=*/true);
      ArgumentSpec positional;
      positional.names = {name};
      positional.value_name = type_name;
      positional.description = option->get_description();
      positional.choices = choices;
      positional.kind = value_kind(name, choices);
      positional.positional = true;
      positional.required = option->get_required();
      positional.repeats = option->get_items_expected_max() > 1;
      arguments.push_back(positional);
    }
  }
  return arguments;
}

}  // namespace

CommandSpec command_spec(const CLI::App& app) {
  CommandSpec spec;
  spec.name = app.get_name();
  spec.description = app.get_description();
  spec.arguments = arguments_of(app);
  auto any = [](const CLI::App*) { return true; };
  for (const CLI::App* sub : app.get_subcommands(any))
    spec.subcommands.push_back(command_spec(*sub));
  return spec;
}

}  // namespace fmnist::cli
