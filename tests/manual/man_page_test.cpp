#include "fmnist/manual/man_page.hpp"

#include <gtest/gtest.h>

#include "manual/sample_spec.hpp"

namespace fmnist {
namespace {

CommandSpec man_page_sample() {
  ArgumentSpec quiet =
      sample_argument({"-q", "--quiet"}, "", "Log only warnings", {}, ValueKind::kNone, false);
  ArgumentSpec epochs =
      sample_argument({"--epochs"}, "INT", "Epochs to train", {}, ValueKind::kWord, false);
  ArgumentSpec images =
      sample_argument({"images"}, "TEXT", ".png files or - for stdin", {}, ValueKind::kImage, true);
  CommandSpec verify{"verify", "Check the data files", {}, {}};
  CommandSpec data{"data", "Work with the data set", {}, {verify}};
  CommandSpec train{"train", "Train the classifier", {epochs}, {}};
  CommandSpec predict{"predict", "Classify image files", {images}, {}};
  return {"fmnist", "train and run a classifier", {quiet}, {train, predict, data}};
}

TEST(ManPageTest, ListsEveryCommandAndOptionInRoff) {
  std::string page = man_page(man_page_sample(), "fmnist 0.5.0");
  EXPECT_EQ(page.find(".TH FMNIST 1"), page.find('\n') + 1) << page;
  EXPECT_NE(page.find("fmnist 0.5.0"), std::string::npos);
  EXPECT_NE(page.find(".SS \"\\fBfmnist train\\fR [\\fIOPTIONS\\fR]\""), std::string::npos) << page;
  EXPECT_NE(page.find("\\fB\\-\\-epochs\\fR \\fIINT\\fR\nEpochs to train"), std::string::npos);
  EXPECT_NE(page.find("\\fB\\-q\\fR, \\fB\\-\\-quiet\\fR"), std::string::npos);
  // A nested command gets its full path; its parent, which does nothing itself, none.
  EXPECT_NE(page.find("\\fBfmnist data verify\\fR"), std::string::npos);
  EXPECT_EQ(page.find("\\fBfmnist data\\fR"), std::string::npos);
  // A description starting with a dot would be a roff request: it is escaped.
  EXPECT_NE(page.find("\n\\&.png files or \\- for stdin"), std::string::npos) << page;
  for (const char* section : {".SH NAME", ".SH SYNOPSIS", ".SH COMMANDS", ".SH EXIT STATUS",
                              ".SH ENVIRONMENT", ".SH EXAMPLES"}) {
    EXPECT_NE(page.find(section), std::string::npos) << section;
  }
}

}  // namespace
}  // namespace fmnist
