#include "fmnist/kernels/adam.hpp"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>
#include <memory>

#include "optimizer_state.hpp"

namespace fmnist {
namespace {

using detail::laid_out_like;

// The parameter's moments, created as LibTorch's Adam creates them on a parameter's first step.
torch::optim::AdamParamState& param_state(torch::optim::Adam& optimizer,
                                          const torch::Tensor& parameter) {
  return detail::state_of<torch::optim::AdamParamState>(optimizer, parameter, [&] {
    auto state = std::make_unique<torch::optim::AdamParamState>();
    state->step(0);
    state->exp_avg(torch::zeros_like(parameter, torch::MemoryFormat::Preserve));
    state->exp_avg_sq(torch::zeros_like(parameter, torch::MemoryFormat::Preserve));
    return state;
  });
}

bool takes_fused_step(const torch::Tensor& parameter, const torch::optim::AdamOptions& options) {
  return parameter.device().is_cpu() && parameter.scalar_type() == torch::kFloat &&
         parameter.is_non_overlapping_and_dense() && !options.amsgrad();
}

// The update of LibTorch's Adam::step, operation for operation, in one loop.
void fused_update(torch::Tensor& parameter, torch::optim::AdamParamState& state,
                  const torch::optim::AdamOptions& options, float shrink) {
  state.exp_avg(laid_out_like(state.exp_avg(), parameter));
  state.exp_avg_sq(laid_out_like(state.exp_avg_sq(), parameter));
  torch::Tensor grad = laid_out_like(parameter.grad(), parameter);
  state.step(state.step() + 1);
  const auto [beta1, beta2] = options.betas();
  const double bias_correction1 = 1 - std::pow(beta1, state.step());
  const double bias_correction2 = 1 - std::pow(beta2, state.step());
  const auto b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
  const auto one_minus_b1 = static_cast<float>(1 - beta1);
  const auto one_minus_b2 = static_cast<float>(1 - beta2);
  const auto decay = static_cast<float>(options.weight_decay());
  const auto sqrt_bias_correction2 = static_cast<float>(std::sqrt(bias_correction2));
  const auto eps = static_cast<float>(options.eps());
  const auto step_size = static_cast<float>(-options.lr() / bias_correction1);
  float* p = parameter.data_ptr<float>();
  const float* g = grad.data_ptr<float>();
  float* m = state.exp_avg().data_ptr<float>();
  float* v = state.exp_avg_sq().data_ptr<float>();
  at::parallel_for(0, parameter.numel(), detail::kStepGrainSize,
                   [&](std::int64_t begin, std::int64_t end) {
                     for (std::int64_t i = begin; i < end; ++i) {
                       float pi = p[i] * shrink;
                       float gi = decay != 0 ? g[i] + decay * pi : g[i];
                       m[i] = m[i] * b1 + one_minus_b1 * gi;
                       v[i] = v[i] * b2 + one_minus_b2 * gi * gi;
                       float denom = std::sqrt(v[i]) / sqrt_bias_correction2 + eps;
                       p[i] = pi + step_size * (m[i] / denom);
                     }
                   });
}

// LibTorch's own step, AdamW's shrink of the weights that get a step first (as PyTorch's AdamW).
void libtorch_step(torch::optim::Adam& optimizer, double decoupled_weight_decay) {
  for (auto& group : optimizer.param_groups()) {
    const double shrink = 1 - group.options().get_lr() * decoupled_weight_decay;
    for (auto& parameter : group.params()) {
      if (parameter.grad().defined()) parameter.mul_(shrink);
    }
  }
  optimizer.step();
}

}  // namespace

std::vector<OptimizerMoments> adam_moments(const torch::optim::Adam& optimizer) {
  std::vector<OptimizerMoments> moments;
  for (const auto& group : optimizer.param_groups()) {
    for (const auto& parameter : group.params()) {
      const auto* state =
          detail::find_state<const torch::optim::AdamParamState>(optimizer, parameter);
      if (!state) {
        moments.push_back({0, torch::zeros_like(parameter), torch::zeros_like(parameter), {}});
        continue;
      }
      moments.push_back({state->step(), state->exp_avg(), state->exp_avg_sq(), {}});
    }
  }
  return moments;
}

void set_adam_moments(torch::optim::Adam& optimizer, const std::vector<OptimizerMoments>& moments) {
  torch::NoGradGuard no_grad;
  std::size_t index = 0;
  for (auto& group : optimizer.param_groups()) {
    for (auto& parameter : group.params()) {
      TORCH_CHECK(index < moments.size(), "fewer optimizer moments than parameters");
      const OptimizerMoments& m = moments[index++];
      torch::optim::AdamParamState& state = param_state(optimizer, parameter);
      state.step(m.step);
      state.exp_avg(torch::empty_like(parameter).copy_(m.exp_avg));
      state.exp_avg_sq(torch::empty_like(parameter).copy_(m.exp_avg_sq));
    }
  }
  TORCH_CHECK(index == moments.size(), "more optimizer moments than parameters");
}

void adam_step(torch::optim::Adam& optimizer, double decoupled_weight_decay) {
  torch::NoGradGuard no_grad;
  for (auto& group : optimizer.param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
    for (auto& parameter : group.params()) {
      if (!takes_fused_step(parameter, options)) {
        libtorch_step(optimizer, decoupled_weight_decay);
        return;
      }
    }
  }
  for (auto& group : optimizer.param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamOptions&>(group.options());
    const auto shrink = static_cast<float>(1 - options.lr() * decoupled_weight_decay);
    for (auto& parameter : group.params()) {
      if (!parameter.grad().defined()) continue;
      fused_update(parameter, param_state(optimizer, parameter), options, shrink);
    }
  }
}

}  // namespace fmnist
