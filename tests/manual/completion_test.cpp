#include "fmnist/manual/completion.hpp"

#include <gtest/gtest.h>

namespace fmnist {
namespace {

ArgumentSpec argument(std::vector<std::string> names, std::string value_name,
                      std::string description, std::vector<std::string> choices, ValueKind kind,
                      bool positional) {
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

CommandSpec sample_app() {
  ArgumentSpec quiet =
      argument({"-q", "--quiet"}, "", "Log only warnings", {}, ValueKind::kNone, false);
  ArgumentSpec arch =
      argument({"--arch"}, "TEXT", "Network [cnn]", {"cnn", "resnet"}, ValueKind::kChoice, false);
  ArgumentSpec model =
      argument({"--model"}, "TEXT", "Checkpoint's file", {}, ValueKind::kCheckpoint, false);
  ArgumentSpec images = argument({"images"}, "TEXT", "Images", {}, ValueKind::kImage, true);
  CommandSpec verify{"verify", "Check the data files", {}, {}};
  CommandSpec data{"data", "Work with the data set", {}, {verify}};
  CommandSpec train{"train", "Train: it's quick", {arch}, {}};
  CommandSpec predict{"predict", "Classify image files", {model, images}, {}};
  return {"fmnist", "a classifier", {quiet}, {train, predict, data}};
}

TEST(CompletionTest, BashKnowsCommandsOptionsChoicesAndFiles) {
  std::string script = bash_completion(sample_app());
  EXPECT_NE(script.find("complete -F _fmnist fmnist"), std::string::npos);
  EXPECT_NE(script.find("'data verify') command="), std::string::npos) << script;
  EXPECT_NE(script.find("--arch) COMPREPLY=($(compgen -W 'cnn resnet'"), std::string::npos);
  EXPECT_NE(script.find("--model) _filedir 'pt|pth'"), std::string::npos);
  EXPECT_NE(script.find("_filedir 'png|jpg|jpeg"), std::string::npos);  // predict's images
  EXPECT_NE(script.find("compgen -W 'train predict data'"), std::string::npos);
  EXPECT_NE(script.find("compgen -W '--model -q --quiet'"), std::string::npos) << script;
}

TEST(CompletionTest, ZshEscapesDescriptionsAndNestsCommands) {
  std::string script = zsh_completion(sample_app());
  EXPECT_EQ(script.rfind("#compdef fmnist\n", 0), 0u);
  EXPECT_NE(script.find("_fmnist_data_verify() {"), std::string::npos) << script;
  EXPECT_NE(script.find("verify) _fmnist_data_verify ;;"), std::string::npos);
  EXPECT_NE(script.find("'--arch[Network \\[cnn\\]]:TEXT:(cnn resnet)'"), std::string::npos)
      << script;
  EXPECT_NE(script.find("'train:Train\\: it'\\''s quick'"), std::string::npos) << script;
  EXPECT_NE(script.find("'(-q --quiet)'{-q,--quiet}'[Log only warnings]'"), std::string::npos);
  EXPECT_NE(script.find("_files -g \"*.(pt|pth)(-.)\""), std::string::npos);
}

}  // namespace
}  // namespace fmnist
