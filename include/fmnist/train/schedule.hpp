#pragma once

#include <cstdint>

#include "fmnist/model/checkpoint.hpp"

namespace fmnist {

inline constexpr const char* kScheduleNone = "none";
inline constexpr const char* kScheduleStep = "step";
inline constexpr const char* kScheduleCosine = "cosine";

// The learning rate of epoch `epoch` (1-based) of a run with `settings`: a linear warm-up over
// the first warmup_epochs (epoch e gets lr * e / warmup_epochs), then constant ("none"),
// multiplied by step_gamma every step_size epochs ("step"), or a half cosine from lr towards 0
// over the remaining epochs ("cosine"). A pure function of the epoch, so a resumed run picks
// the schedule up where it stopped.
double learning_rate_at(const TrainSettings& settings, std::int64_t epoch);

// UsageError naming the flag for a schedule that cannot work with these settings.
void check_schedule(const TrainSettings& settings);

}  // namespace fmnist
