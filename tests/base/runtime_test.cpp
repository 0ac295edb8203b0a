#include "fmnist/base/runtime.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "fmnist/base/error.hpp"

namespace fmnist {
namespace {

// A tensor this long is split across the intra-op threads, so each of them must flush.
TEST(RuntimeTest, FlushesDenormalsOnEveryThread) {
  configure_runtime(/*threads=*/2);
  const float denormal = std::numeric_limits<float>::min() / 4;
  torch::Tensor products = torch::full({1 << 20}, denormal) * 2;
  EXPECT_EQ(products.count_nonzero().item<std::int64_t>(), 0);
  EXPECT_EQ(torch::get_num_threads(), 2);
}

TEST(RuntimeTest, RejectsNegativeThreadCounts) {
  EXPECT_THROW(configure_runtime(/*threads=*/-1), UsageError);
}

}  // namespace
}  // namespace fmnist
