#pragma once

#include <cstdint>

namespace fmnist {

// One class of a prediction: its index in the checkpoint's class names and its probability.
struct ClassScore {
  std::int64_t label = 0;
  double probability = 0;
};

}  // namespace fmnist
