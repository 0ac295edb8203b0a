#include "fmnist/base/suggest.hpp"

#include <gtest/gtest.h>

namespace fmnist {
namespace {

TEST(SuggestTest, EditDistanceCountsASwapAsOneEdit) {
  EXPECT_EQ(edit_distance("train", "train"), 0u);
  EXPECT_EQ(edit_distance("trian", "train"), 1u);
  EXPECT_EQ(edit_distance("--epoch", "--epochs"), 1u);
  EXPECT_EQ(edit_distance("evla", "eval"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(SuggestTest, ClosestNameIsTheNearestCloseEnoughCandidate) {
  const std::vector<std::string> commands = {"train", "eval", "predict", "info", "summary"};
  EXPECT_EQ(closest_name("trian", commands), "train");
  EXPECT_EQ(closest_name("predcit", commands), "predict");
  EXPECT_EQ(closest_name("evaluate", commands), std::nullopt);  // 4 edits: too far
  EXPECT_EQ(closest_name("serve", commands), std::nullopt);
  const std::vector<std::string> flags = {"--epochs", "--batch-size", "--lr", "--lr-schedule"};
  EXPECT_EQ(closest_name("--epoch", flags), "--epochs");
  EXPECT_EQ(closest_name("--batch", flags), "--batch-size");  // the only one it begins
  EXPECT_EQ(closest_name("--l", flags), "--lr");
  EXPECT_EQ(closest_name("--frobnicate", flags), std::nullopt);
}

}  // namespace
}  // namespace fmnist
