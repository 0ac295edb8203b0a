#pragma once

#include <cstdint>

#include "fmnist/data/dataset.hpp"

namespace fmnist {

struct TrainValSplit {
  Dataset train;
  Dataset val;
};

// Holds out round(fraction * n_c) images of every class c for validation, chosen by `seed`
// alone, so a resumed run validates on the same images; the rest stay for training, both in
// their original order. `data` must be on the CPU. UsageError if fraction is not in (0, 1) or
// leaves either part empty.
TrainValSplit split_for_validation(const Dataset& data, double fraction, std::int64_t seed);

}  // namespace fmnist
