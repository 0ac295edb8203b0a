#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fmnist/eval/eval_report.hpp"

namespace fmnist {

// How many wrong images the errors gallery shows, at most.
inline constexpr std::int64_t kGallerySize = 24;

// <dir>/<model stem>.confusion.png and <dir>/<model stem>.errors.png, where dir is `plots_dir`
// or else the model's directory. UsageError if `plots_dir` is not a directory.
// With `tta` the names are <stem>.tta.confusion.png and <stem>.tta.errors.png, beside (not over)
// a plain evaluation's.
EvalPlotPaths eval_plot_paths(const std::string& model_path,
                              const std::optional<std::string>& plots_dir, bool tta = false);

// A probability as a percentage with as many decimals (up to 4) as it takes not to read as
// certainty or impossibility: "99.97%", not "100.0%", for a model that is almost sure.
std::string percent_short_of_certainty(double probability);

// The indices of the images `result` got wrong, most confident first, at most `count`.
std::vector<std::int64_t> most_confident_errors(const EvalResult& result,
                                                const torch::Tensor& labels, std::int64_t count);

// Writes the confusion heat-map and the gallery of the most confidently wrong of `images`
// (uint8 [N, 1, H, W] on the CPU, with their `labels`; where paths.errors is set), each
// atomically.
void write_eval_plots(const EvalReport& report, const torch::Tensor& images,
                      const torch::Tensor& labels, const EvalPlotPaths& paths);

}  // namespace fmnist
