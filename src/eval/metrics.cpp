#include "fmnist/eval/metrics.hpp"

#include <cmath>

namespace fmnist {
namespace {
double ratio(double numerator, double denominator) {
  return denominator > 0 ? numerator / denominator : 0.0;
}
}  // namespace

Interval wilson_interval(std::int64_t successes, std::int64_t trials, double z) {
  TORCH_CHECK(trials > 0 && successes >= 0 && successes <= trials, "wilson_interval: ", successes,
              " successes of ", trials, " trials");
  double n = static_cast<double>(trials);
  double p = static_cast<double>(successes) / n;
  double z2 = z * z;
  double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  double half_width = z / (1 + z2 / n) * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
  return {std::max(0.0, centre - half_width), std::min(1.0, centre + half_width)};
}

std::vector<ClassScores> class_scores(const torch::Tensor& confusion) {
  TORCH_CHECK(confusion.dim() == 2 && confusion.size(0) == confusion.size(1),
              "class_scores: confusion matrix must be square");
  torch::Tensor counts = confusion.to(torch::kCPU, torch::kInt64).contiguous();
  auto cells = counts.accessor<std::int64_t, 2>();
  std::int64_t classes = counts.size(0);
  std::vector<ClassScores> scores(classes);
  for (std::int64_t c = 0; c < classes; ++c) {
    std::int64_t predicted = 0;
    for (std::int64_t r = 0; r < classes; ++r) {
      scores[c].support += cells[c][r];
      predicted += cells[r][c];
    }
    double hits = static_cast<double>(cells[c][c]);
    scores[c].precision = ratio(hits, static_cast<double>(predicted));
    scores[c].recall = ratio(hits, static_cast<double>(scores[c].support));
    scores[c].f1 =
        ratio(2 * scores[c].precision * scores[c].recall, scores[c].precision + scores[c].recall);
  }
  return scores;
}

MacroAverage macro_average(const std::vector<ClassScores>& scores) {
  MacroAverage average;
  ClassScores& mean = average.mean;
  for (const ClassScores& s : scores) {
    if (s.support == 0) continue;
    mean.precision += s.precision;
    mean.recall += s.recall;
    mean.f1 += s.f1;
    mean.support += s.support;
    ++average.classes;
  }
  double n = static_cast<double>(average.classes);
  mean.precision = ratio(mean.precision, n);
  mean.recall = ratio(mean.recall, n);
  mean.f1 = ratio(mean.f1, n);
  return average;
}

}  // namespace fmnist
