#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>

namespace fmnist::detail {

// Elements per task of an optimizer step's parallel loop: a bias or a small layer's weights run
// on one thread, where waking the others would cost more than the update.
inline constexpr std::int64_t kStepGrainSize = 1 << 14;

// An optimizer's state is keyed by the parameter's TensorImpl: its address printed as a string
// in LibTorch 1.13, the address itself in LibTorch 2.
template <typename Key>
Key state_key(const torch::Tensor& parameter) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream key;
    key << parameter.unsafeGetTensorImpl();
    return key.str();
  } else {
    return parameter.unsafeGetTensorImpl();
  }
}

// The state that `optimizer` keeps for `parameter`, or nullptr before its first step.
template <typename State, typename Optimizer>
State* find_state(Optimizer& optimizer, const torch::Tensor& parameter) {
  auto& states = optimizer.state();
  auto found = states.find(state_key<typename std::decay_t<decltype(states)>::key_type>(parameter));
  return found == states.end() ? nullptr : static_cast<State*>(found->second.get());
}

// The state for `parameter`, made by `make` (a unique_ptr<State>) if it has none yet.
template <typename State, typename Optimizer, typename Make>
State& state_of(Optimizer& optimizer, const torch::Tensor& parameter, Make make) {
  if (State* state = find_state<State>(optimizer, parameter)) return *state;
  auto& states = optimizer.state();
  auto key = state_key<typename std::decay_t<decltype(states)>::key_type>(parameter);
  return static_cast<State&>(*states.emplace(key, make()).first->second);
}

// `tensor` with the parameter's strides, so that it and the parameter can be walked by one flat
// index.
inline torch::Tensor laid_out_like(const torch::Tensor& tensor, const torch::Tensor& parameter) {
  if (tensor.strides() == parameter.strides()) return tensor;
  return torch::empty_like(parameter).copy_(tensor);
}

}  // namespace fmnist::detail
