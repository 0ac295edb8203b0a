#include "fmnist/train/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "fmnist/base/error.hpp"

namespace fmnist {

namespace {

// Like PyTorch's OneCycleLR (annealing by cosine, div_factor 25, final_div_factor 1e4), per step.
double one_cycle_at(const TrainSettings& settings, double step, double total_steps,
                    double warmup_steps) {
  const double peak = settings.learning_rate;
  const double start = peak / kOneCycleDivFactor;
  const double end = start / kOneCycleFinalDivFactor;
  auto anneal = [](double from, double to, double fraction) {
    return to + (from - to) * 0.5 * (1 + std::cos(M_PI * fraction));
  };
  // The peak at the first step after the warm-up; the end is approached at the last step.
  if (step < warmup_steps) return anneal(start, peak, step / warmup_steps);
  return anneal(peak, end, (step - warmup_steps) / std::max(1.0, total_steps - warmup_steps));
}

}  // namespace

double learning_rate_at_step(const TrainSettings& settings, std::int64_t epoch, std::int64_t step,
                             std::int64_t steps_per_epoch) {
  if (settings.lr_schedule != kScheduleOneCycle) return learning_rate_at(settings, epoch);
  const auto steps = static_cast<double>(steps_per_epoch);
  return one_cycle_at(settings, static_cast<double>(epoch - 1) * steps + static_cast<double>(step),
                      static_cast<double>(settings.epochs) * steps,
                      static_cast<double>(settings.warmup_epochs) * steps);
}

double learning_rate_at(const TrainSettings& settings, std::int64_t epoch) {
  const double lr = settings.learning_rate;
  if (settings.lr_schedule == kScheduleOneCycle)
    return learning_rate_at_step(settings, epoch, 0, 1);
  if (epoch <= settings.warmup_epochs) {
    return lr * static_cast<double>(epoch) / static_cast<double>(settings.warmup_epochs);
  }
  const std::int64_t since_warmup = epoch - settings.warmup_epochs - 1;
  if (settings.lr_schedule == kScheduleStep) {
    return lr *
           std::pow(settings.step_gamma, static_cast<double>(since_warmup / settings.step_size));
  }
  if (settings.lr_schedule == kScheduleCosine) {
    const double span = static_cast<double>(settings.epochs - settings.warmup_epochs);
    return lr * 0.5 * (1 + std::cos(M_PI * static_cast<double>(since_warmup) / span));
  }
  return lr;
}

void check_schedule(const TrainSettings& settings) {
  const std::string& name = settings.lr_schedule;
  if (name != kScheduleNone && name != kScheduleStep && name != kScheduleCosine &&
      name != kScheduleOneCycle) {
    throw UsageError("--lr-schedule: '" + name +
                     "' is not a schedule (none, step, cosine or onecycle)");
  }
  if (settings.warmup_epochs < 0 || settings.warmup_epochs > settings.epochs) {
    throw UsageError("--warmup-epochs: must be at least 0 and at most --epochs (" +
                     std::to_string(settings.epochs) + "), not " +
                     std::to_string(settings.warmup_epochs));
  }
  if (settings.step_size < 1) throw UsageError("--step-size: must be at least 1");
  if (!(settings.step_gamma > 0 && settings.step_gamma <= 1)) {
    throw UsageError("--step-gamma: must be above 0 and at most 1");
  }
}

}  // namespace fmnist
