#include "fmnist/data/validation.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <spdlog/fmt/fmt.h>

#include "fmnist/base/error.hpp"
#include "fmnist/data/fashion_mnist.hpp"

namespace fmnist {
namespace {

// A Fisher-Yates shuffle of our own: std::shuffle's order differs between standard libraries.
void shuffle(std::vector<std::int64_t>& items, std::mt19937_64& rng) {
  for (std::size_t i = items.size(); i > 1; --i) {
    std::size_t j = rng() % i;
    std::swap(items[i - 1], items[j]);
  }
}

Dataset select(const Dataset& data, std::vector<std::int64_t> rows) {
  std::sort(rows.begin(), rows.end());
  torch::Tensor index = torch::tensor(rows, torch::kInt64);
  return {data.images.index_select(/*dim=*/0, index), data.labels.index_select(/*dim=*/0, index)};
}

}  // namespace

TrainValSplit split_for_validation(const Dataset& data, double fraction, std::int64_t seed) {
  if (!(fraction > 0 && fraction < 1)) {
    throw UsageError("--val-split: must be above 0 and below 1, not " +
                     fmt::format("{:g}", fraction));
  }
  TORCH_CHECK(data.labels.device().is_cpu(), "split_for_validation needs CPU tensors");
  std::vector<std::vector<std::int64_t>> by_class(kNumClasses);
  const auto labels = data.labels.accessor<std::int64_t, 1>();
  for (std::int64_t row = 0; row < data.size(); ++row) by_class.at(labels[row]).push_back(row);
  std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
  std::vector<std::int64_t> train_rows, val_rows;
  for (auto& rows : by_class) {
    shuffle(rows, rng);
    auto held_out = static_cast<std::ptrdiff_t>(std::llround(fraction * rows.size()));
    val_rows.insert(val_rows.end(), rows.begin(), rows.begin() + held_out);
    train_rows.insert(train_rows.end(), rows.begin() + held_out, rows.end());
  }
  if (val_rows.empty() || train_rows.empty()) {
    throw UsageError("--val-split " + fmt::format("{:g}", fraction) + ": leaves " +
                     (val_rows.empty() ? "no validation" : "no training") + " images of " +
                     std::to_string(data.size()));
  }
  return {select(data, std::move(train_rows)), select(data, std::move(val_rows))};
}

}  // namespace fmnist
