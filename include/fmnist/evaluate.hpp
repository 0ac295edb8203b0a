#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "fmnist/checkpoint.hpp"
#include "fmnist/dataset.hpp"
#include "fmnist/model.hpp"

namespace fmnist {

inline constexpr std::int64_t kEvalBatchSize = 256;

struct EvalResult {
  SplitMetrics metrics;
  torch::Tensor confusion;  // int64 [classes, classes] on the CPU; row = true, column = predicted

  std::int64_t count() const;
  std::vector<double> per_class_accuracy() const;
};

// Mean cross-entropy, accuracy and confusion matrix of `model` (in eval mode, on the device of
// `data`) over `data`, without building autograd graphs.
EvalResult evaluate(Cnn& model, const Dataset& data, std::int64_t batch_size = kEvalBatchSize);

struct EvalOptions {
  std::string model_path = "model.pt";
  std::optional<std::string> data_dir;
  std::string split = "test";
  std::string device = "auto";
  int threads = 0;
};

// `fmnist eval`: loads the checkpoint and the split, evaluates, writes the report to `out`.
void run_eval(const EvalOptions& options, std::ostream& out);

void print_eval_report(const EvalResult& result, const std::vector<std::string>& class_names,
                       const std::string& split, std::ostream& out);

}  // namespace fmnist
