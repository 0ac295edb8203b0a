#include "fmnist/kernels/adam.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace fmnist {
namespace {

// Parameters of the shapes and layouts the network has: a channels-last convolution weight,
// a matrix, a bias.
std::vector<torch::Tensor> make_parameters() {
  torch::manual_seed(2);
  return {torch::randn({8, 4, 3, 3}).contiguous(torch::MemoryFormat::ChannelsLast),
          torch::randn({16, 40}), torch::randn({16})};
}

std::vector<torch::Tensor> copies(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> result;
  for (const auto& p : parameters) result.push_back(p.detach().clone().requires_grad_());
  return result;
}

// Gradients as autograd leaves them; the convolution's arrives in plain (NCHW) order.
void set_gradients(std::vector<torch::Tensor>& parameters, int step) {
  torch::manual_seed(100 + step);
  for (auto& p : parameters) p.mutable_grad() = torch::randn(p.sizes());
}

torch::optim::AdamOptions options() {
  return torch::optim::AdamOptions(/*lr=*/0.01).eps(1e-7).weight_decay(0.05);
}

void expect_close(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::allclose(a[i], b[i], /*rtol=*/1e-5, /*atol=*/1e-6))
        << "parameter " << i << " differs by " << (a[i] - b[i]).abs().max().item<float>();
  }
}

// The optimizer's state is keyed by the parameter's TensorImpl: its address printed in LibTorch
// 1.13, the pointer itself in 2.x.
template <typename Key>
bool is_key_of(const Key& key, const torch::Tensor& parameter) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream printed;
    printed << parameter.unsafeGetTensorImpl();
    return key == printed.str();
  } else {
    return key == parameter.unsafeGetTensorImpl();
  }
}

const torch::optim::AdamParamState& state_of(torch::optim::Adam& optimizer, std::size_t index) {
  auto& states = optimizer.state();
  EXPECT_EQ(states.size(), optimizer.param_groups()[0].params().size());
  const auto& parameter = optimizer.param_groups()[0].params()[index];
  for (const auto& [state_key, state] : states) {
    if (is_key_of(state_key, parameter)) {
      return static_cast<torch::optim::AdamParamState&>(*state);
    }
  }
  throw std::runtime_error("no state for parameter " + std::to_string(index));
}

// The same parameters and gradients, stepped by adam_step and by LibTorch's Adam::step.
struct SideBySide {
  explicit SideBySide(const torch::optim::AdamOptions& adam_options = options())
      : our_optimizer(ours, adam_options), their_optimizer(theirs, adam_options) {}

  void take_steps(int first_step, int steps) {
    for (int step = first_step; step < first_step + steps; ++step) {
      set_gradients(ours, step);
      set_gradients(theirs, step);
      adam_step(our_optimizer);
      their_optimizer.step();
    }
  }

  std::vector<torch::Tensor> ours = copies(make_parameters());
  std::vector<torch::Tensor> theirs = copies(make_parameters());
  torch::optim::Adam our_optimizer;
  torch::optim::Adam their_optimizer;
};

TEST(AdamTest, EqualsLibTorchsAdamWithWeightDecay) {
  SideBySide both;
  both.take_steps(/*first_step=*/0, /*steps=*/5);
  expect_close(both.ours, both.theirs);
  for (std::size_t i = 0; i < both.ours.size(); ++i) {
    const auto& our_state = state_of(both.our_optimizer, i);
    const auto& their_state = state_of(both.their_optimizer, i);
    EXPECT_EQ(our_state.step(), 5);
    EXPECT_TRUE(torch::allclose(our_state.exp_avg(), their_state.exp_avg()));
    EXPECT_TRUE(torch::allclose(our_state.exp_avg_sq(), their_state.exp_avg_sq()));
  }
}

// The state is LibTorch's own: a saved fused optimizer resumes in LibTorch's and vice versa.
TEST(AdamTest, StateSavesAndLoadsAsLibTorchsAdam) {
  SideBySide both;
  both.take_steps(/*first_step=*/0, /*steps=*/3);
  std::vector<torch::Tensor> resumed = copies(both.ours);
  torch::optim::Adam resumed_optimizer(resumed, options());
  std::stringstream saved;
  torch::save(both.our_optimizer, saved);
  torch::load(resumed_optimizer, saved);
  set_gradients(resumed, 3);
  set_gradients(both.theirs, 3);
  resumed_optimizer.step();
  both.their_optimizer.step();
  expect_close(resumed, both.theirs);
  EXPECT_EQ(state_of(resumed_optimizer, 0).step(), 4);
}

TEST(AdamTest, SkipsParametersWithoutAGradient) {
  std::vector<torch::Tensor> parameters = copies(make_parameters());
  torch::Tensor before = parameters[1].detach().clone();
  torch::optim::Adam optimizer(parameters, options());
  set_gradients(parameters, 0);
  parameters[1].mutable_grad() = torch::Tensor();
  adam_step(optimizer);
  EXPECT_TRUE(torch::equal(parameters[1], before));
  EXPECT_EQ(optimizer.state().size(), 2u);
}

// AMSGrad is not fused: LibTorch's step runs, and keeps its extra moment.
TEST(AdamTest, AmsGradTakesLibTorchsStep) {
  SideBySide both(options().amsgrad(true));
  both.take_steps(/*first_step=*/0, /*steps=*/1);
  for (std::size_t i = 0; i < both.ours.size(); ++i) {
    EXPECT_TRUE(torch::equal(both.ours[i], both.theirs[i]));
  }
  EXPECT_TRUE(state_of(both.our_optimizer, 0).max_exp_avg_sq().defined());
}

TEST(AdamTest, DecoupledWeightDecayTakesAdamWsStep) {
  std::vector<torch::Tensor> ours = copies(make_parameters()), theirs = copies(make_parameters());
  torch::optim::Adam our_optimizer(ours, torch::optim::AdamOptions(/*lr=*/0.01).eps(1e-7));
  torch::optim::AdamW their_optimizer(
      theirs, torch::optim::AdamWOptions(/*lr=*/0.01).eps(1e-7).weight_decay(0.1));
  for (int step = 0; step < 5; ++step) {
    set_gradients(ours, step);
    set_gradients(theirs, step);
    adam_step(our_optimizer, /*decoupled_weight_decay=*/0.1);
    their_optimizer.step();
  }
  for (std::size_t i = 0; i < ours.size(); ++i) {
    EXPECT_TRUE(torch::allclose(ours[i], theirs[i], /*rtol=*/1e-5, /*atol=*/1e-6)) << i;
  }
}

}  // namespace
}  // namespace fmnist
