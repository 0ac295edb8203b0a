#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "fmnist/data/dataset.hpp"
#include "fmnist/model/checkpoint.hpp"
#include "fmnist/model/model.hpp"

namespace fmnist {

inline constexpr std::int64_t kEvalBatchSize = 256;

struct EvalResult {
  SplitMetrics metrics;
  torch::Tensor confusion;   // int64 [classes, classes] on the CPU; row = true, column = predicted
  torch::Tensor predicted;   // int64 [N] on the CPU: the class the model chose for each image
  torch::Tensor confidence;  // float [N] on the CPU: the softmax probability of that class
  torch::Tensor true_class_probability;  // float [N] on the CPU: that of the image's label

  std::int64_t count() const;
  std::int64_t errors() const;
};

// Mean cross-entropy, accuracy and confusion matrix of `model` (in eval mode, on the device of
// `data`) over `data`, without building autograd graphs.
// With `tta`, each image's logits are the mean of its own and its mirror's.
EvalResult evaluate(Net& model, const Dataset& data, std::int64_t batch_size = kEvalBatchSize,
                    bool tta = false);

struct EvalOptions {
  std::string model_path = "model.pt";
  std::optional<std::string> data_dir;
  std::string split = "test";
  std::string device = "auto";
  int threads = 0;
  bool json = false;                     // the report as one JSON document
  std::optional<std::string> plots_dir;  // where the PNGs go; default: beside the model
  bool no_plots = false;
  bool tta = false;  // test-time augmentation: average with each image's mirror
};

// `fmnist eval`: loads the checkpoint and the split, evaluates, writes the confusion heat-map
// and the gallery of errors (unless no_plots) and the report (text or JSON) to `out`.
void run_eval(const EvalOptions& options, std::ostream& out);

}  // namespace fmnist
