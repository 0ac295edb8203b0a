#include "fmnist/manual/completion.hpp"

#include <string>
#include <vector>

#include "fmnist/image/inputs.hpp"

namespace fmnist {
namespace {

// "png|jpg|..." (bash extglob) or "png|jpg|..." for zsh's glob qualifiers: both take this.
std::string image_extension_pattern() {
  std::string pattern;
  for (const std::string& extension : image_extensions()) {
    pattern += (pattern.empty() ? "" : "|") + extension.substr(1);
  }
  return pattern;
}

std::string joined(const std::vector<std::string>& words, const std::string& separator) {
  std::string text;
  for (const std::string& word : words) text += (text.empty() ? "" : separator) + word;
  return text;
}

// Every command below `command`, each with its path of names ("data verify").
void walk(const CommandSpec& command, const std::string& path,
          std::vector<std::pair<std::string, const CommandSpec*>>& out) {
  out.emplace_back(path, &command);
  for (const CommandSpec& sub : command.subcommands) {
    walk(sub, path.empty() ? sub.name : path + " " + sub.name, out);
  }
}

// ---- bash ----------------------------------------------------------------------------------

std::string bash_value(const ArgumentSpec& argument) {
  switch (argument.kind) {
    case ValueKind::kChoice:
      return "COMPREPLY=($(compgen -W '" + joined(argument.choices, " ") + "' -- \"$cur\"))";
    case ValueKind::kCheckpoint:
      return "_filedir 'pt|pth'";
    case ValueKind::kImage:
      return "_filedir '" + image_extension_pattern() + "'";
    case ValueKind::kDirectory:
      return "_filedir -d";
    case ValueKind::kFile:
      return "_filedir";
    case ValueKind::kNone:
    case ValueKind::kWord:
      break;
  }
  return ":";  // a number or a word: nothing to offer
}

// The case of one command: the value after an option, else options or positionals.
std::string bash_command_case(const std::string& path, const CommandSpec& command,
                              const std::vector<ArgumentSpec>& global) {
  std::string text = "    '" + path + "')\n      case \"$prev\" in\n";
  std::vector<std::string> options, words;
  const ArgumentSpec* positional = nullptr;
  for (const auto* arguments : {&command.arguments, &global}) {
    for (const ArgumentSpec& argument : *arguments) {
      if (arguments == &global && argument.names.back() == "--help") continue;  // its own
      if (argument.positional) {
        if (arguments == &command.arguments && positional == nullptr) positional = &argument;
        continue;
      }
      options.insert(options.end(), argument.names.begin(), argument.names.end());
      if (argument.kind == ValueKind::kNone) continue;
      text +=
          "        " + joined(argument.names, "|") + ") " + bash_value(argument) + "; return ;;\n";
    }
  }
  text += "      esac\n";
  for (const CommandSpec& sub : command.subcommands) words.push_back(sub.name);
  text += "      if [[ $cur == -* ]]; then\n";
  text += "        COMPREPLY=($(compgen -W '" + joined(options, " ") + "' -- \"$cur\"))\n";
  if (!words.empty()) {
    text +=
        "      else\n        COMPREPLY=($(compgen -W '" + joined(words, " ") + "' -- \"$cur\"))\n";
  } else if (positional != nullptr) {
    text += "      else\n        " + bash_value(*positional) + "\n";
  }
  return text + "      fi ;;\n";
}

// ---- zsh -----------------------------------------------------------------------------------

// Text inside a single-quoted _arguments spec: no quote, and [ ] : escaped.
std::string zsh_quoted(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else if (c == '[' || c == ']' || c == ':' || c == '\\') {
      out += std::string("\\") + c;
    } else {
      out += c;
    }
  }
  return out;
}

std::string zsh_action(const ArgumentSpec& argument) {
  switch (argument.kind) {
    case ValueKind::kChoice:
      return "(" + joined(argument.choices, " ") + ")";
    case ValueKind::kCheckpoint:
      return "_files -g \"*.(pt|pth)(-.)\"";
    case ValueKind::kImage:
      return "_files -g \"*.(#i)(" + image_extension_pattern() + ")(-.)\"";
    case ValueKind::kDirectory:
      return "_files -/";
    case ValueKind::kFile:
      return "_files";
    case ValueKind::kNone:
    case ValueKind::kWord:
      break;
  }
  return " ";
}

// `position`: a positional's number among its command's (from 1): '1:old:...', '2::new:...'
// (optional), or '*:images:...' for one that repeats.
std::string zsh_spec(const ArgumentSpec& argument, int position) {
  const std::string value = argument.value_name.empty() ? "value" : argument.value_name;
  if (argument.positional) {
    std::string where = argument.repeats    ? "*:"
                        : argument.required ? std::to_string(position) + ":"
                                            : std::to_string(position) + "::";
    return "'" + where + zsh_quoted(argument.names.front()) + ":" + zsh_action(argument) + "'";
  }
  // -q and --quiet exclude each other: '(-q --quiet)'{-q,--quiet}'[...]'
  std::string spec = argument.names.size() == 1 ? "'" + argument.names.front()
                                                : "'(" + joined(argument.names, " ") + ")'{" +
                                                      joined(argument.names, ",") + "}'";
  spec += "[" + zsh_quoted(argument.description) + "]";
  if (argument.kind != ValueKind::kNone) {
    spec += ":" + zsh_quoted(value) + ":" + zsh_action(argument);
  }
  return spec + "'";
}

std::string zsh_function_name(const std::string& path) {
  std::string name = path.empty() ? "_fmnist" : "_fmnist_";
  for (char c : path) name += c == ' ' || c == '-' ? '_' : c;
  return name;
}

std::string zsh_function(const std::string& path, const CommandSpec& command,
                         const std::vector<ArgumentSpec>& global) {
  std::string text = zsh_function_name(path) + "() {\n";
  std::vector<std::string> specs;
  int positions = 0;
  for (const auto* arguments : {&command.arguments, &global}) {
    for (const ArgumentSpec& argument : *arguments) {
      if (arguments == &global && (argument.positional || argument.names.back() == "--help")) {
        continue;  // a global positional is the command; --help each command has of its own
      }
      specs.push_back(zsh_spec(argument, argument.positional ? ++positions : 0));
    }
  }
  if (command.subcommands.empty()) {
    text += "  _arguments -s";
    for (const std::string& spec : specs) text += " \\\n    " + spec;
    return text + "\n}\n\n";
  }
  text += "  local curcontext=\"$curcontext\" state line\n  local -a commands\n";
  text += "  _arguments -C -s";
  for (const std::string& spec : specs) text += " \\\n    " + spec;
  text += " \\\n    '1:command:->command' \\\n    '*::argument:->argument'\n";
  text += "  case $state in\n    command)\n      commands=(\n";
  for (const CommandSpec& sub : command.subcommands) {
    text += "        '" + zsh_quoted(sub.name) + ":" + zsh_quoted(sub.description) + "'\n";
  }
  text += "      )\n      _describe -t commands command commands ;;\n    argument)\n";
  text += "      case $line[1] in\n";
  for (const CommandSpec& sub : command.subcommands) {
    std::string sub_path = path.empty() ? sub.name : path + " " + sub.name;
    text += "        " + sub.name + ") " + zsh_function_name(sub_path) + " ;;\n";
  }
  return text + "      esac ;;\n  esac\n}\n\n";
}

}  // namespace

std::string bash_completion(const CommandSpec& fmnist) {
  std::vector<std::pair<std::string, const CommandSpec*>> commands;
  walk(fmnist, "", commands);
  std::string text =
      "# bash completion for fmnist: written by `fmnist completion bash` from its own flags.\n"
      "_fmnist() {\n"
      "  local cur prev words cword split\n"
      "  _init_completion -s || return  # -s: --arch=r completes as --arch r\n"
      "  # The command so far: the words that name subcommands, in order.\n"
      "  local command='' i word\n"
      "  for ((i = 1; i < cword; i++)); do\n"
      "    word=${words[i]}\n"
      "    case \"$command${command:+ }$word\" in\n";
  for (std::size_t i = 1; i < commands.size(); ++i) {
    text += "      '" + commands[i].first + "') command=\"$command${command:+ }$word\" ;;\n";
  }
  text += "    esac\n  done\n  case \"$command\" in\n";
  for (const auto& [path, command] : commands) {
    text += bash_command_case(path, *command,
                              path.empty() ? std::vector<ArgumentSpec>{} : fmnist.arguments);
  }
  return text + "  esac\n}\ncomplete -F _fmnist fmnist\n";
}

std::string zsh_completion(const CommandSpec& fmnist) {
  std::vector<std::pair<std::string, const CommandSpec*>> commands;
  walk(fmnist, "", commands);
  std::string text =
      "#compdef fmnist\n"
      "# zsh completion for fmnist: written by `fmnist completion zsh` from its own flags.\n\n";
  for (auto it = commands.rbegin(); it != commands.rend(); ++it) {
    text += zsh_function(it->first, *it->second,
                         it->first.empty() ? std::vector<ArgumentSpec>{} : fmnist.arguments);
  }
  return text + "_fmnist \"$@\"\n";
}

}  // namespace fmnist
