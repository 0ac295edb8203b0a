#pragma once

#include <torch/torch.h>

#include <functional>
#include <mutex>
#include <vector>

namespace fmnist {

// What a kernel makes of a weight before it computes with it.
enum class WeightForm {
  kWinograd,             // Winograd's transformed filters (kernels/winograd)
  kTapMajor,             // the first convolution's weight as [tap][channel]
  kChannelsLastColumns,  // a fully connected layer's weight, its inputs in channels-last order
};

// The forms of weights that do not change, kept across forward passes: an InferenceModel's.
// Making them took 20 µs of a one-image forward pass of 120 (predict, serve). Outside a
// FrozenWeightsScope the kernels make them on every call: training changes the weights in
// place, through raw pointers that no version counter sees.
class PreparedWeights {
 public:
  // The kept form of `weight`, made by `prepare` on first use, or again if the weight's data
  // moved or (where it has a version counter) changed in place.
  torch::Tensor get(const torch::Tensor& weight, WeightForm form,
                    const std::function<torch::Tensor()>& prepare);

 private:
  struct Entry {
    const c10::TensorImpl* owner;
    WeightForm form;
    const void* data;
    std::int64_t version;
    torch::Tensor prepared;
  };

  std::mutex mutex_;
  std::vector<Entry> entries_;
};

// While alive, the kernels on this thread keep the forms of the weights they see in
// `weights`, whose tensors must outlive it and not change. The threads of a parallel region
// need their own scope. Scopes nest.
class FrozenWeightsScope {
 public:
  explicit FrozenWeightsScope(PreparedWeights& weights);
  ~FrozenWeightsScope();
  FrozenWeightsScope(const FrozenWeightsScope&) = delete;
  FrozenWeightsScope& operator=(const FrozenWeightsScope&) = delete;

 private:
  PreparedWeights* previous_;
};

namespace detail {

// Whether this thread runs in a FrozenWeightsScope.
bool weights_frozen();

// `weight`'s form from this thread's FrozenWeightsScope, or `prepare()` outside one.
torch::Tensor prepared_weight(const torch::Tensor& weight, WeightForm form,
                              const std::function<torch::Tensor()>& prepare);

}  // namespace detail
}  // namespace fmnist
