#include "fmnist/kernels/sgd.hpp"

#include <ATen/Parallel.h>

#include <cstdint>
#include <memory>

#include "optimizer_state.hpp"

namespace fmnist {
namespace {

// A zero buffer makes the first step's `buffer * momentum + gradient` the gradient itself,
// which is what LibTorch's first step stores.
torch::optim::SGDParamState& param_state(torch::optim::SGD& optimizer,
                                         const torch::Tensor& parameter) {
  return detail::state_of<torch::optim::SGDParamState>(optimizer, parameter, [&] {
    auto state = std::make_unique<torch::optim::SGDParamState>();
    state->momentum_buffer(torch::zeros_like(parameter, torch::MemoryFormat::Preserve));
    return state;
  });
}

bool takes_fused_step(const torch::Tensor& parameter, const torch::optim::SGDOptions& options) {
  return parameter.device().is_cpu() && parameter.scalar_type() == torch::kFloat &&
         parameter.is_non_overlapping_and_dense() && options.dampening() == 0 &&
         options.momentum() != 0;
}

// The update of LibTorch's SGD::step, operation for operation, in one loop.
void fused_update(torch::Tensor& parameter, torch::optim::SGDParamState& state,
                  const torch::optim::SGDOptions& options) {
  state.momentum_buffer(detail::laid_out_like(state.momentum_buffer(), parameter));
  torch::Tensor grad = detail::laid_out_like(parameter.grad(), parameter);
  const auto decay = static_cast<float>(options.weight_decay());
  const auto momentum = static_cast<float>(options.momentum());
  const auto minus_lr = static_cast<float>(-options.lr());
  const bool nesterov = options.nesterov();
  float* p = parameter.data_ptr<float>();
  const float* g = grad.data_ptr<float>();
  float* buffer = state.momentum_buffer().data_ptr<float>();
  at::parallel_for(0, parameter.numel(), detail::kStepGrainSize,
                   [&](std::int64_t begin, std::int64_t end) {
                     for (std::int64_t i = begin; i < end; ++i) {
                       float gi = decay != 0 ? g[i] + decay * p[i] : g[i];
                       buffer[i] = buffer[i] * momentum + gi;
                       p[i] += minus_lr * (nesterov ? gi + momentum * buffer[i] : buffer[i]);
                     }
                   });
}

}  // namespace

void sgd_step(torch::optim::SGD& optimizer) {
  torch::NoGradGuard no_grad;
  for (auto& group : optimizer.param_groups()) {
    const auto& options = static_cast<const torch::optim::SGDOptions&>(group.options());
    for (auto& parameter : group.params()) {
      if (!takes_fused_step(parameter, options)) {
        optimizer.step();
        return;
      }
    }
  }
  for (auto& group : optimizer.param_groups()) {
    const auto& options = static_cast<const torch::optim::SGDOptions&>(group.options());
    for (auto& parameter : group.params()) {
      if (parameter.grad().defined())
        fused_update(parameter, param_state(optimizer, parameter), options);
    }
  }
}

std::vector<OptimizerMoments> sgd_moments(const torch::optim::SGD& optimizer) {
  std::vector<OptimizerMoments> moments;
  for (const auto& group : optimizer.param_groups()) {
    for (const auto& parameter : group.params()) {
      const auto* state =
          detail::find_state<const torch::optim::SGDParamState>(optimizer, parameter);
      torch::Tensor buffer = state && state->momentum_buffer().defined()
                                 ? state->momentum_buffer()
                                 : torch::zeros_like(parameter);
      moments.push_back({0, {}, {}, buffer});
    }
  }
  return moments;
}

void set_sgd_moments(torch::optim::SGD& optimizer, const std::vector<OptimizerMoments>& moments) {
  torch::NoGradGuard no_grad;
  std::size_t index = 0;
  for (auto& group : optimizer.param_groups()) {
    for (auto& parameter : group.params()) {
      TORCH_CHECK(index < moments.size(), "fewer momentum buffers than parameters");
      param_state(optimizer, parameter)
          .momentum_buffer(torch::empty_like(parameter).copy_(moments[index++].momentum_buffer));
    }
  }
  TORCH_CHECK(index == moments.size(), "more momentum buffers than parameters");
}

}  // namespace fmnist
