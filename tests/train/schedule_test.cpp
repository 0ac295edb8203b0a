#include "fmnist/train/schedule.hpp"

#include <gtest/gtest.h>

#include "fmnist/base/error.hpp"

namespace fmnist {
namespace {

TrainSettings schedule(const std::string& name, std::int64_t warmup) {
  TrainSettings settings;
  settings.epochs = 10;
  settings.learning_rate = 0.01;
  settings.lr_schedule = name;
  settings.warmup_epochs = warmup;
  settings.step_size = 3;
  settings.step_gamma = 0.5;
  return settings;
}

TEST(ScheduleTest, NoneKeepsTheRate) {
  for (std::int64_t epoch = 1; epoch <= 10; ++epoch) {
    EXPECT_DOUBLE_EQ(learning_rate_at(schedule("none", 0), epoch), 0.01);
  }
}

TEST(ScheduleTest, WarmUpRampsLinearlyToTheRate) {
  TrainSettings settings = schedule("none", 4);
  EXPECT_DOUBLE_EQ(learning_rate_at(settings, 1), 0.0025);
  EXPECT_DOUBLE_EQ(learning_rate_at(settings, 2), 0.005);
  EXPECT_DOUBLE_EQ(learning_rate_at(settings, 4), 0.01);
  EXPECT_DOUBLE_EQ(learning_rate_at(settings, 5), 0.01);
}

TEST(ScheduleTest, StepMultipliesEveryStepSizeEpochsAfterWarmUp) {
  TrainSettings settings = schedule("step", 1);
  EXPECT_DOUBLE_EQ(learning_rate_at(settings, 1), 0.01);  // the warm-up's only epoch
  EXPECT_DOUBLE_EQ(learning_rate_at(settings, 2), 0.01);
  EXPECT_DOUBLE_EQ(learning_rate_at(settings, 4), 0.01);
  EXPECT_DOUBLE_EQ(learning_rate_at(settings, 5), 0.005);
  EXPECT_DOUBLE_EQ(learning_rate_at(settings, 8), 0.0025);
}

TEST(ScheduleTest, CosineFallsFromTheRateTowardsZero) {
  TrainSettings settings = schedule("cosine", 2);
  EXPECT_DOUBLE_EQ(learning_rate_at(settings, 3), 0.01);
  EXPECT_NEAR(learning_rate_at(settings, 7), 0.005, 1e-12);  // half-way through 8 epochs
  double last = learning_rate_at(settings, 10);
  EXPECT_GT(last, 0);
  EXPECT_LT(last, 0.001);
  for (std::int64_t epoch = 4; epoch <= 10; ++epoch) {
    EXPECT_LT(learning_rate_at(settings, epoch), learning_rate_at(settings, epoch - 1));
  }
}

TEST(ScheduleTest, RejectsSchedulesThatCannotWork) {
  EXPECT_THROW(check_schedule(schedule("linear", 0)), UsageError);
  EXPECT_THROW(check_schedule(schedule("cosine", 11)), UsageError);  // more warm-up than run
  EXPECT_THROW(check_schedule(schedule("step", -1)), UsageError);
  TrainSettings no_decay = schedule("step", 0);
  no_decay.step_gamma = 1.5;
  EXPECT_THROW(check_schedule(no_decay), UsageError);
  EXPECT_NO_THROW(check_schedule(schedule("cosine", 10)));  // a run that is all warm-up
}

TEST(ScheduleTest, OneCycleRisesOverTheWarmUpThenAnnealsPerStep) {
  TrainSettings settings = schedule("onecycle", 2);  // 10 epochs of 100 steps: 1,000 steps
  const double peak = 0.01, start = peak / 25, end = start / 1e4;
  auto lr = [&](std::int64_t epoch, std::int64_t step) {
    return learning_rate_at_step(settings, epoch, step, 100);
  };
  EXPECT_NEAR(lr(1, 0), start, 1e-15);
  EXPECT_NEAR(lr(2, 0), (start + peak) / 2, 1e-12);  // halfway through the 200-step warm-up
  EXPECT_NEAR(lr(3, 0), peak, 1e-15);                // the first step after it
  EXPECT_GT(lr(3, 0), lr(3, 1));
  // halfway through the annealing: step 200 + 800 / 2 = 600
  EXPECT_NEAR(lr(7, 0), (peak + end) / 2, 1e-12);
  EXPECT_GT(lr(10, 99), end);  // the last step, nearly at the end
  EXPECT_LT(lr(10, 99), 1e-7);
}

}  // namespace
}  // namespace fmnist
