#include "fmnist/kernels/prepared_weights.hpp"

namespace fmnist {
namespace {

thread_local PreparedWeights* frozen_weights = nullptr;

// Inference tensors keep no version counter.
std::int64_t version_of(const torch::Tensor& weight) {
  return weight.is_inference() ? 0 : weight._version();
}

}  // namespace

torch::Tensor PreparedWeights::get(const torch::Tensor& weight, WeightForm form,
                                   std::int64_t layout,
                                   c10::function_ref<torch::Tensor()> prepare) {
  const void* data = weight.data_ptr();
  const std::int64_t version = version_of(weight);
  std::lock_guard<std::mutex> lock(mutex_);
  for (Entry& entry : entries_) {
    if (!entry.weight.is_same(weight) || entry.form != form || entry.layout != layout) continue;
    if (!entry.storage.is_alias_of(weight.storage()) || entry.data != data ||
        entry.version != version) {
      entry = {weight, weight.storage(), data, form, layout, version, prepare()};
    }
    return entry.prepared;
  }
  entries_.push_back({weight, weight.storage(), data, form, layout, version, prepare()});
  return entries_.back().prepared;
}

FrozenWeightsScope::FrozenWeightsScope(PreparedWeights& weights) : previous_(frozen_weights) {
  frozen_weights = &weights;
}

FrozenWeightsScope::~FrozenWeightsScope() { frozen_weights = previous_; }

namespace detail {

bool weights_frozen() { return frozen_weights != nullptr; }

torch::Tensor prepared_weight(const torch::Tensor& weight, WeightForm form, std::int64_t layout,
                              c10::function_ref<torch::Tensor()> prepare) {
  return frozen_weights ? frozen_weights->get(weight, form, layout, prepare) : prepare();
}

}  // namespace detail
}  // namespace fmnist
