#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "fmnist/model.hpp"

namespace fmnist {

struct PredictOptions {
  std::vector<std::string> images;
  std::string model_path = "model.pt";
  std::int64_t top_k = 1;
  std::string device = "auto";
  int threads = 0;
};

struct ClassScore {
  std::int64_t label = 0;
  double probability = 0;
};

// The `top_k` most probable classes of each input (float [N, 1, 28, 28]), best first.
std::vector<std::vector<ClassScore>> classify(Cnn& model, const torch::Tensor& inputs,
                                              std::int64_t top_k);

// `fmnist predict`: one line per image on `out` ("bag.jpg: Bag 99.2%"), all images in one
// batch. An image that cannot be read gets its error line and the others are still
// predicted; then AlreadyReported says how many failed.
void run_predict(const PredictOptions& options, std::ostream& out);

}  // namespace fmnist
