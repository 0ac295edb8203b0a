#include "fmnist/train/optimizer.hpp"

#include "fmnist/kernels/adam.hpp"
#include "fmnist/kernels/sgd.hpp"

namespace fmnist {
namespace {

constexpr double kAdamEpsilon = 1e-7;  // Keras' default, not PyTorch's 1e-8

bool is_sgd(const torch::optim::Optimizer& optimizer) {
  return dynamic_cast<const torch::optim::SGD*>(&optimizer) != nullptr;
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const Checkpoint& checkpoint) {
  const TrainSettings& settings = checkpoint.settings;
  const std::vector<OptimizerMoments>& moments = checkpoint.optimizer_state;
  if (settings.optimizer == kOptimizerSgd) {
    auto sgd = std::make_unique<torch::optim::SGD>(checkpoint.model->parameters(),
                                                   torch::optim::SGDOptions(settings.learning_rate)
                                                       .momentum(kSgdMomentum)
                                                       .nesterov(true)
                                                       .weight_decay(settings.weight_decay));
    if (!moments.empty()) set_sgd_moments(*sgd, moments);
    return sgd;
  }
  auto adam = std::make_unique<torch::optim::Adam>(
      checkpoint.model->parameters(),
      torch::optim::AdamOptions(settings.learning_rate)
          .eps(kAdamEpsilon)
          .weight_decay(settings.optimizer == kOptimizerAdam ? settings.weight_decay : 0));
  if (!moments.empty()) set_adam_moments(*adam, moments);
  return adam;
}

void optimizer_step(torch::optim::Optimizer& optimizer, const TrainSettings& settings) {
  if (is_sgd(optimizer)) {
    sgd_step(static_cast<torch::optim::SGD&>(optimizer));
    return;
  }
  adam_step(static_cast<torch::optim::Adam&>(optimizer),
            settings.optimizer == kOptimizerAdamW ? settings.weight_decay : 0);
}

std::vector<OptimizerMoments> optimizer_moments(const torch::optim::Optimizer& optimizer) {
  if (is_sgd(optimizer)) return sgd_moments(static_cast<const torch::optim::SGD&>(optimizer));
  return adam_moments(static_cast<const torch::optim::Adam&>(optimizer));
}

}  // namespace fmnist
