#pragma once

#include <string>
#include <vector>

#include "fmnist/model/checkpoint.hpp"
#include "fmnist/train/optimizer.hpp"

namespace fmnist {

inline constexpr const char* kRecipeTutorial = "tutorial";
inline constexpr const char* kRecipeAccurate = "accurate";

// A named set of training settings and the architecture they train.
struct Recipe {
  std::string arch;
  TrainSettings settings;
};

// kRecipeTutorial first (the default): the Keras tutorial's network and Adam, unchanged.
// kRecipeAccurate: the residual network, AdamW with a one-cycle schedule, label smoothing,
// random flips and shifts; about 94 % in 10 CPU minutes (README, Results).
const std::vector<std::string>& recipe_names();

// UsageError naming --recipe for an unknown name.
Recipe recipe(const std::string& name);

// UsageError naming the flag for a setting no training can use (also for settings read from a
// checkpoint to resume).
void check_settings(const TrainSettings& settings);

// Whether epoch `epoch` (from 1) changes the training images (--augment, --erasing): not in the
// last settings.clean_epochs epochs.
bool augments_epoch(const TrainSettings& settings, std::int64_t epoch);

}  // namespace fmnist
