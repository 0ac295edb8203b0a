#include "fmnist/base/device.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace fmnist {
namespace {

TEST(DeviceTest, CountsThreadsInGoodEnglish) {
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  EXPECT_EQ(describe_device(torch::kCPU), "cpu (1 thread)");
  torch::set_num_threads(2);
  EXPECT_EQ(describe_device(torch::kCPU), "cpu (2 threads)");
  torch::set_num_threads(threads);
}

}  // namespace
}  // namespace fmnist
