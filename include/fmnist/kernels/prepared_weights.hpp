#pragma once

#include <c10/util/FunctionRef.h>
#include <torch/torch.h>

#include <cstdint>
#include <mutex>
#include <vector>

namespace fmnist {

// What a kernel makes of a weight before it computes with it.
enum class WeightForm {
  kWinograd,             // Winograd's transformed filters (kernels/winograd)
  kTapMajor,             // the first convolution's weight as [tap][channel]
  kChannelsLastColumns,  // a fully connected layer's weight, its inputs in channels-last order
};

// The forms of weights that do not change, kept across forward passes: an InferenceModel's,
// whose weights must not change while it lives. Making them took about 30 µs of a one-image
// forward pass of 120 (predict, serve). Outside a FrozenWeightsScope the kernels make them on
// every call: training changes the weights in place, through raw pointers that no version
// counter sees.
class PreparedWeights {
 public:
  // The kept form of `weight`, made by `prepare` on first use, or again if the weight's data
  // moved or (where it has a version counter) changed in place. `layout` is whatever else the
  // form depends on (the input channels of fc1's reordered columns), 0 if nothing.
  torch::Tensor get(const torch::Tensor& weight, WeightForm form, std::int64_t layout,
                    c10::function_ref<torch::Tensor()> prepare);

 private:
  // The weight and its storage are held so that no other tensor or data takes their addresses
  // while the entry lives.
  struct Entry {
    torch::Tensor weight;
    c10::Storage storage;  // the weight's when prepared
    const void* data;
    WeightForm form;
    std::int64_t layout;
    std::int64_t version;
    torch::Tensor prepared;
  };

  std::mutex mutex_;
  std::vector<Entry> entries_;
};

// While alive, the kernels on this thread keep the forms of the weights they see in
// `weights`, and take them from it: those weights must not change for the life of `weights`,
// across scopes. The threads of a parallel region need their own scope. Scopes nest.
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
torch::Tensor prepared_weight(const torch::Tensor& weight, WeightForm form, std::int64_t layout,
                              c10::function_ref<torch::Tensor()> prepare);

}  // namespace detail
}  // namespace fmnist
