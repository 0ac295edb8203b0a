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
                                   const std::function<torch::Tensor()>& prepare) {
  const c10::TensorImpl* owner = weight.unsafeGetTensorImpl();
  const void* data = weight.data_ptr();
  const std::int64_t version = version_of(weight);
  std::lock_guard<std::mutex> lock(mutex_);
  for (Entry& entry : entries_) {
    if (entry.owner != owner || entry.form != form) continue;
    if (entry.data != data || entry.version != version)
      entry = {owner, form, data, version, prepare()};
    return entry.prepared;
  }
  entries_.push_back({owner, form, data, version, prepare()});
  return entries_.back().prepared;
}

FrozenWeightsScope::FrozenWeightsScope(PreparedWeights& weights) : previous_(frozen_weights) {
  frozen_weights = &weights;
}

FrozenWeightsScope::~FrozenWeightsScope() { frozen_weights = previous_; }

namespace detail {

bool weights_frozen() { return frozen_weights != nullptr; }

torch::Tensor prepared_weight(const torch::Tensor& weight, WeightForm form,
                              const std::function<torch::Tensor()>& prepare) {
  return frozen_weights ? frozen_weights->get(weight, form, prepare) : prepare();
}

}  // namespace detail
}  // namespace fmnist
