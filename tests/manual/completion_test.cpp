#include "fmnist/manual/completion.hpp"

#include <gtest/gtest.h>

#include "manual/sample_spec.hpp"

namespace fmnist {
namespace {

CommandSpec completion_sample() {
  ArgumentSpec quiet =
      sample_argument({"-q", "--quiet"}, "", "Log only warnings", {}, ValueKind::kNone, false);
  ArgumentSpec arch = sample_argument({"--arch"}, "TEXT", "Network [cnn]", {"cnn", "resnet"},
                                      ValueKind::kChoice, false);
  ArgumentSpec model =
      sample_argument({"--model"}, "TEXT", "Checkpoint's file", {}, ValueKind::kCheckpoint, false);
  ArgumentSpec images = sample_argument({"images"}, "TEXT", "Images", {}, ValueKind::kImage, true);
  CommandSpec verify{"verify", "Check the data files", {}, {}};
  CommandSpec data{"data", "Work with the data set", {}, {verify}};
  CommandSpec train{"train", "Train: it's quick", {arch}, {}};
  CommandSpec predict{"predict", "Classify image files", {model, images}, {}};
  return {"fmnist", "a classifier", {quiet}, {train, predict, data}};
}

TEST(CompletionTest, BashKnowsCommandsOptionsChoicesAndFiles) {
  std::string script = bash_completion(completion_sample());
  EXPECT_NE(script.find("complete -F _fmnist fmnist"), std::string::npos);
  EXPECT_NE(script.find("'data verify') command="), std::string::npos) << script;
  EXPECT_NE(script.find("--arch) COMPREPLY=($(compgen -W 'cnn resnet'"), std::string::npos);
  EXPECT_NE(script.find("--model) _filedir 'pt|pth'"), std::string::npos);
  EXPECT_NE(script.find("_filedir 'png|jpg|jpeg"), std::string::npos);  // predict's images
  EXPECT_NE(script.find("compgen -W 'train predict data'"), std::string::npos);
  EXPECT_NE(script.find("compgen -W '--model -q --quiet'"), std::string::npos) << script;
}

TEST(CompletionTest, ZshEscapesDescriptionsAndNestsCommands) {
  std::string script = zsh_completion(completion_sample());
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
