#include "fmnist/kernels/sgd.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace fmnist {
namespace {

// Parameters of the shapes and layouts the network has: a channels-last convolution weight,
// a matrix, a bias.
std::vector<torch::Tensor> make_sgd_parameters() {
  torch::manual_seed(3);
  return {torch::randn({8, 4, 3, 3}).contiguous(torch::MemoryFormat::ChannelsLast).requires_grad_(),
          torch::randn({16, 40}).requires_grad_(), torch::randn({16}).requires_grad_()};
}

std::vector<torch::Tensor> sgd_copies(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> result;
  for (const auto& p : parameters) result.push_back(p.detach().clone().requires_grad_());
  return result;
}

// Gradients as autograd leaves them; the convolution's arrives in plain (NCHW) order.
void set_sgd_gradients(std::vector<torch::Tensor>& parameters, int step) {
  torch::manual_seed(200 + step);
  for (auto& p : parameters) p.mutable_grad() = torch::randn(p.sizes());
}

torch::optim::SGDOptions nesterov(bool with_nesterov = true) {
  return torch::optim::SGDOptions(/*lr=*/0.05)
      .momentum(0.9)
      .nesterov(with_nesterov)
      .weight_decay(5e-4);
}

void expect_sgd_close(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::allclose(a[i], b[i], /*rtol=*/1e-5, /*atol=*/1e-6))
        << "parameter " << i << " differs by " << (a[i] - b[i]).abs().max().item<float>();
  }
}

TEST(SgdTest, EqualsLibTorchsSgdWithNesterovMomentumAndWeightDecay) {
  for (bool with_nesterov : {true, false}) {
    std::vector<torch::Tensor> ours = make_sgd_parameters(), theirs = sgd_copies(ours);
    torch::optim::SGD our_optimizer(ours, nesterov(with_nesterov));
    torch::optim::SGD their_optimizer(theirs, nesterov(with_nesterov));
    for (int step = 0; step < 5; ++step) {
      set_sgd_gradients(ours, step);
      set_sgd_gradients(theirs, step);
      sgd_step(our_optimizer);
      their_optimizer.step();
    }
    expect_sgd_close(ours, theirs);
    // The parameters moved: a step that did nothing would also "equal" a step that did nothing.
    EXPECT_FALSE(torch::allclose(ours[1], make_sgd_parameters()[1]));
  }
}

// A run resumed from saved momentum buffers takes the steps an uninterrupted one takes.
TEST(SgdTest, MomentsSavedAndRestoredContinueTheRun) {
  std::vector<torch::Tensor> straight = make_sgd_parameters(), resumed = sgd_copies(straight);
  torch::optim::SGD straight_optimizer(straight, nesterov());
  torch::optim::SGD first_half(resumed, nesterov());
  for (int step = 0; step < 3; ++step) {
    set_sgd_gradients(straight, step);
    sgd_step(straight_optimizer);
    set_sgd_gradients(resumed, step);
    sgd_step(first_half);
  }
  std::vector<OptimizerMoments> saved = sgd_moments(first_half);
  ASSERT_EQ(saved.size(), 3u);
  EXPECT_GT(saved[1].momentum_buffer.abs().sum().item<float>(), 0);
  EXPECT_FALSE(saved[1].exp_avg.defined());
  torch::optim::SGD second_half(resumed, nesterov());
  set_sgd_moments(second_half, saved);
  for (int step = 3; step < 6; ++step) {
    set_sgd_gradients(straight, step);
    sgd_step(straight_optimizer);
    set_sgd_gradients(resumed, step);
    sgd_step(second_half);
  }
  expect_sgd_close(straight, resumed);
}

TEST(SgdTest, MomentsBeforeTheFirstStepAreZero) {
  std::vector<torch::Tensor> parameters = make_sgd_parameters();
  torch::optim::SGD optimizer(parameters, nesterov());
  for (const OptimizerMoments& m : sgd_moments(optimizer)) {
    EXPECT_TRUE(torch::equal(m.momentum_buffer, torch::zeros_like(m.momentum_buffer)));
  }
}

}  // namespace
}  // namespace fmnist
