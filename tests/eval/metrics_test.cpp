#include "fmnist/eval/metrics.hpp"

#include <gtest/gtest.h>

namespace fmnist {
namespace {

TEST(WilsonInterval, MatchesPublishedValues) {
  // Wilson 95% intervals as tabulated by Newcombe (1998): 0/10 and 5/10.
  Interval none = wilson_interval(0, 10);
  EXPECT_DOUBLE_EQ(none.low, 0.0);
  EXPECT_NEAR(none.high, 0.2775, 1e-4);
  Interval half = wilson_interval(5, 10);
  EXPECT_NEAR(half.low, 0.2366, 1e-4);
  EXPECT_NEAR(half.high, 0.7634, 1e-4);
}

TEST(WilsonInterval, StaysInsideZeroOneAndNarrowsWithTrials) {
  Interval all = wilson_interval(10, 10);
  EXPECT_DOUBLE_EQ(all.high, 1.0);
  EXPECT_LT(all.low, 1.0);
  Interval small = wilson_interval(90, 100);
  Interval large = wilson_interval(9000, 10000);
  EXPECT_LT(large.high - large.low, small.high - small.low);
  EXPECT_LT(large.low, 0.9);
  EXPECT_GT(large.high, 0.9);
}

TEST(WilsonInterval, RejectsImpossibleCounts) {
  EXPECT_THROW(wilson_interval(1, 0), c10::Error);
  EXPECT_THROW(wilson_interval(11, 10), c10::Error);
}

TEST(ClassScores, FromConfusionMatrix) {
  // Rows are true classes: class 0 has 6 images (5 right), class 1 has 5 (3 right), class 2
  // none and is never predicted.
  torch::Tensor confusion = torch::tensor({5, 1, 0, 2, 3, 0, 0, 0, 0}, torch::kInt64).view({3, 3});
  std::vector<ClassScores> scores = class_scores(confusion);
  ASSERT_EQ(scores.size(), 3u);
  EXPECT_DOUBLE_EQ(scores[0].precision, 5.0 / 7);
  EXPECT_DOUBLE_EQ(scores[0].recall, 5.0 / 6);
  EXPECT_NEAR(scores[0].f1, 10.0 / 13, 1e-12);
  EXPECT_EQ(scores[0].support, 6);
  EXPECT_DOUBLE_EQ(scores[1].precision, 0.75);
  EXPECT_DOUBLE_EQ(scores[1].recall, 0.6);
  EXPECT_NEAR(scores[1].f1, 2.0 / 3, 1e-12);
  EXPECT_EQ(scores[2].support, 0);
  EXPECT_DOUBLE_EQ(scores[2].f1, 0.0);

  // Class 2 has no images: the average is over classes 0 and 1.
  MacroAverage average = macro_average(scores);
  EXPECT_EQ(average.classes, 2);
  EXPECT_NEAR(average.mean.precision, (5.0 / 7 + 0.75) / 2, 1e-12);
  EXPECT_NEAR(average.mean.recall, (5.0 / 6 + 0.6) / 2, 1e-12);
  EXPECT_EQ(average.mean.support, 11);
}

}  // namespace
}  // namespace fmnist
