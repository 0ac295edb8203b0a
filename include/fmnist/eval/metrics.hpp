#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace fmnist {

// The standard normal quantile of a two-sided 95% interval.
inline constexpr double kZ95 = 1.959963984540054;

struct Interval {
  double low = 0;
  double high = 0;
};

// Wilson score interval of the proportion successes/trials: unlike the normal approximation it
// stays inside [0, 1] and is sound near 0 and 1 and for few trials. trials must be above 0.
Interval wilson_interval(std::int64_t successes, std::int64_t trials, double z = kZ95);

// Precision, recall and F1 of one class; a ratio with nothing to divide by (a class never
// predicted, or absent) counts as 0, as scikit-learn does.
struct ClassScores {
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  std::int64_t support = 0;  // images of the class
};

// One entry per class of an int64 confusion matrix [classes, classes] (row = true class).
std::vector<ClassScores> class_scores(const torch::Tensor& confusion);

// The unweighted mean of each score over the classes that have images (a class with none has
// no recall to speak of, and counting it as 0 would understate the model); support is the
// total, `classes` how many were averaged.
struct MacroAverage {
  ClassScores mean;
  std::int64_t classes = 0;
};
MacroAverage macro_average(const std::vector<ClassScores>& scores);

}  // namespace fmnist
