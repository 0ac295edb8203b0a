#include "fmnist/train/schedule.hpp"

#include <cmath>
#include <string>

#include "fmnist/base/error.hpp"

namespace fmnist {

double learning_rate_at(const TrainSettings& settings, std::int64_t epoch) {
  const double lr = settings.learning_rate;
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
  if (name != kScheduleNone && name != kScheduleStep && name != kScheduleCosine) {
    throw UsageError("--lr-schedule: '" + name + "' is not a schedule (none, step or cosine)");
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
