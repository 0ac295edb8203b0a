#include "fmnist/train/recipe.hpp"

#include <gtest/gtest.h>

#include "fmnist/base/error.hpp"
#include "fmnist/train/train.hpp"

namespace fmnist {
namespace {

TEST(RecipeTest, TutorialIsTodaysDefaults) {
  Recipe tutorial = resolve_recipe(TrainOptions{});
  EXPECT_EQ(tutorial.arch, kCnnArch);
  EXPECT_EQ(tutorial.settings.recipe, kRecipeTutorial);
  EXPECT_EQ(tutorial.settings.epochs, 20);
  EXPECT_EQ(tutorial.settings.batch_size, 128);
  EXPECT_DOUBLE_EQ(tutorial.settings.learning_rate, 1e-3);
  EXPECT_EQ(tutorial.settings.optimizer, kOptimizerAdam);
  EXPECT_EQ(tutorial.settings.lr_schedule, kScheduleNone);
  EXPECT_DOUBLE_EQ(tutorial.settings.weight_decay, 0);
  EXPECT_DOUBLE_EQ(tutorial.settings.label_smoothing, 0);
  EXPECT_FALSE(tutorial.settings.augment);
  EXPECT_EQ(tutorial.settings.clean_epochs, 0);
}

TEST(RecipeTest, AccurateTrainsTheResNetWithAdamWAndOneCycle) {
  TrainOptions options;
  options.recipe = kRecipeAccurate;
  Recipe accurate = resolve_recipe(options);
  EXPECT_EQ(accurate.arch, kResNetArch);
  EXPECT_EQ(accurate.settings.recipe, kRecipeAccurate);
  EXPECT_EQ(accurate.settings.optimizer, kOptimizerAdamW);
  EXPECT_EQ(accurate.settings.lr_schedule, kScheduleOneCycle);
  EXPECT_GT(accurate.settings.label_smoothing, 0);
  EXPECT_TRUE(accurate.settings.augment);
}

TEST(RecipeTest, ExplicitFlagsOverrideTheRecipe) {
  TrainOptions options;
  options.recipe = kRecipeAccurate;
  options.epochs = 3;
  options.arch = kCnnBnArch;
  options.augment = false;
  options.learning_rate = 0.5;
  options.label_smoothing = 0.0;
  options.seed = 7;
  Recipe resolved = resolve_recipe(options);
  EXPECT_EQ(resolved.arch, kCnnBnArch);
  EXPECT_EQ(resolved.settings.epochs, 3);
  EXPECT_FALSE(resolved.settings.augment);
  EXPECT_DOUBLE_EQ(resolved.settings.learning_rate, 0.5);
  EXPECT_DOUBLE_EQ(resolved.settings.label_smoothing, 0);
  EXPECT_EQ(resolved.settings.seed, 7);
  EXPECT_EQ(resolved.settings.optimizer, kOptimizerAdamW);  // not overridden: the recipe's
}

// A shorter run keeps the warm-up's share of the recipe's 30 epochs (8), rounded down, but at
// least one epoch once the run has two.
TEST(RecipeTest, WarmUpKeepsItsShareOfAShorterRun) {
  TrainOptions options;
  options.recipe = kRecipeAccurate;
  for (auto [epochs, warmup] : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {30, 8}, {15, 4}, {10, 2}, {3, 1}, {2, 1}, {1, 0}}) {
    options.epochs = epochs;
    EXPECT_EQ(resolve_recipe(options).settings.warmup_epochs, warmup) << epochs << " epochs";
  }
  options.warmup_epochs = 0;  // an explicit flag wins
  EXPECT_EQ(resolve_recipe(options).settings.warmup_epochs, 0);
}

// The accurate recipe's clean epochs (3 of 30) keep their share of another run length, rounded
// down; only they go without augmentation.
TEST(RecipeTest, CleanEpochsEndTheRunAndKeepTheirShare) {
  TrainOptions options;
  options.recipe = kRecipeAccurate;
  for (auto [epochs, clean] : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {30, 3}, {40, 4}, {20, 2}, {10, 1}, {9, 0}, {1, 0}}) {
    options.epochs = epochs;
    EXPECT_EQ(resolve_recipe(options).settings.clean_epochs, clean) << epochs << " epochs";
  }
  options.epochs = 30;
  TrainSettings settings = resolve_recipe(options).settings;
  EXPECT_TRUE(augments_epoch(settings, 1));
  EXPECT_TRUE(augments_epoch(settings, 27));
  EXPECT_FALSE(augments_epoch(settings, 28));
  EXPECT_FALSE(augments_epoch(settings, 30));
  settings.augment = false;  // --erasing alone changes the images too
  EXPECT_FALSE(augments_epoch(settings, 1));
  settings.erasing = 0.25;
  EXPECT_TRUE(augments_epoch(settings, 1));
  options.clean_epochs = 0;  // an explicit flag wins
  EXPECT_TRUE(augments_epoch(resolve_recipe(options).settings, 30));
}

TEST(RecipeTest, RejectsUnknownNamesAndSettingsThatCannotWork) {
  TrainOptions options;
  options.recipe = "fastest";
  EXPECT_THROW(resolve_recipe(options), UsageError);
  options = TrainOptions{};
  options.optimizer = "sgd-ish";
  EXPECT_THROW(resolve_recipe(options), UsageError);
  options = TrainOptions{};
  options.arch = "resnet50";
  EXPECT_THROW(resolve_recipe(options), UsageError);
  options = TrainOptions{};
  options.label_smoothing = 1.0;
  EXPECT_THROW(resolve_recipe(options), UsageError);
  options = TrainOptions{};
  options.warmup_epochs = 30;  // more than the 20 epochs
  EXPECT_THROW(resolve_recipe(options), UsageError);
  options = TrainOptions{};
  options.clean_epochs = 21;
  EXPECT_THROW(resolve_recipe(options), UsageError);
}

}  // namespace
}  // namespace fmnist
