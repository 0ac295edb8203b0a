#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fmnist/eval/evaluate.hpp"

namespace fmnist {

// Where `fmnist eval` writes its pictures.
struct EvalPlotPaths {
  std::filesystem::path confusion;              // heat-map of the confusion matrix
  std::optional<std::filesystem::path> errors;  // gallery of the most confidently wrong images;
                                                // absent when there were no errors
};

// Everything `fmnist eval` reports about one checkpoint on one split.
struct EvalReport {
  std::string model_path;
  std::int64_t epoch = 0;
  std::string split;
  std::vector<std::string> class_names;
  EvalResult result;
  std::optional<EvalPlotPaths> plots;  // absent when no pictures were written
  bool tta = false;                    // the logits were the mean of each image's and its mirror's
};

// For people: loss, accuracy with its 95% Wilson interval, precision/recall/F1 per class, the
// confusion matrix as a table, and the pictures written.
std::string format_eval_text(const EvalReport& report);

// The same as one JSON document (accuracies and scores as fractions), ending in a newline.
std::string format_eval_json(const EvalReport& report);

}  // namespace fmnist
