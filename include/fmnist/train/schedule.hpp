#pragma once

#include <cstdint>

#include "fmnist/model/checkpoint.hpp"

namespace fmnist {

inline constexpr const char* kScheduleNone = "none";
inline constexpr const char* kScheduleStep = "step";
inline constexpr const char* kScheduleCosine = "cosine";
inline constexpr const char* kScheduleOneCycle = "onecycle";
inline constexpr double kOneCycleDivFactor = 25;        // start at lr / 25
inline constexpr double kOneCycleFinalDivFactor = 1e4;  // end at lr / 25 / 1e4

// The learning rate of epoch `epoch` (1-based) of a run with `settings`: a linear warm-up over
// the first warmup_epochs (epoch e gets lr * e / warmup_epochs), then constant ("none"),
// multiplied by step_gamma every step_size epochs ("step"), or a half cosine from lr towards 0
// over the remaining epochs ("cosine"). A pure function of the epoch, so a resumed run picks
// the schedule up where it stopped.
double learning_rate_at(const TrainSettings& settings, std::int64_t epoch);

// The learning rate of step `step` (0-based) of epoch `epoch` (1-based). "onecycle" changes it
// every step: from lr / 25 up to lr over the first warmup_epochs, then down to lr / 25 / 1e4
// at the end of the last epoch, both along a half cosine (like PyTorch's OneCycleLR). The other
// schedules keep learning_rate_at(epoch) for the whole epoch.
double learning_rate_at_step(const TrainSettings& settings, std::int64_t epoch, std::int64_t step,
                             std::int64_t steps_per_epoch);

// UsageError naming the flag for a schedule that cannot work with these settings.
void check_schedule(const TrainSettings& settings);

}  // namespace fmnist
