#include "fmnist/train/progress.hpp"

#include <gtest/gtest.h>

namespace fmnist {
namespace {

TEST(ProgressTest, ShowsBatchLossAccuracySpeedAndEta) {
  ProgressState state{/*batch=*/211,
                      /*batches=*/422,
                      /*loss=*/0.45678,
                      /*accuracy=*/0.8412,
                      /*images_per_second=*/6350.4,
                      /*seconds_left=*/75.4};
  EXPECT_EQ(format_progress(state),
            "[############............] 211/422  loss 0.4568 acc 84.12%  6350 img/s  ETA 1:15");
}

TEST(ProgressTest, FullBarAtTheEnd) {
  ProgressState state{422, 422, 0.3, 0.9, 7000, 0};
  EXPECT_EQ(format_progress(state).rfind("[########################] 422/422", 0), 0u);
}

TEST(ProgressTest, LiveOnlyOnATerminalThatIsNotDumbAndNotQuiet) {
  EXPECT_TRUE(live_progress_wanted(true, "xterm-256color", true));
  EXPECT_TRUE(live_progress_wanted(true, nullptr, true));
  EXPECT_FALSE(live_progress_wanted(false, "xterm", true));  // a pipe or a file
  EXPECT_FALSE(live_progress_wanted(true, "dumb", true));
  EXPECT_FALSE(live_progress_wanted(true, "xterm", false));  // --quiet
}

}  // namespace
}  // namespace fmnist
