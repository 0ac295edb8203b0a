#include "fmnist/serve/batch_queue.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "test_util.hpp"

namespace fmnist {
namespace {

std::shared_ptr<const ServedModel> fresh_model(std::uint64_t seed) {
  torch::manual_seed(seed);
  Checkpoint checkpoint;
  checkpoint.model = Net();
  checkpoint.model->eval();
  return std::make_shared<const ServedModel>(checkpoint, "fresh.pt", /*tta=*/false);
}

torch::Tensor images(std::int64_t count) {
  return testing::make_split(count, /*seed=*/1).images.unsqueeze(1).to(torch::kFloat) / 255;
}

TEST(BatchQueueTest, BatchedProbabilitiesEqualSingleImageOnes) {
  BatchQueue queue(fresh_model(1), BatchOptions{});
  torch::Tensor batch = images(8);
  torch::Tensor together = queue.submit(batch).get().probabilities;
  ASSERT_EQ(together.sizes(), (torch::IntArrayRef{8, 10}));
  for (std::int64_t i = 0; i < 8; ++i) {
    torch::Tensor alone = queue.submit(batch.slice(0, i, i + 1)).get().probabilities;
    EXPECT_TRUE(torch::allclose(alone[0], together[i], /*rtol=*/0, /*atol=*/1e-5)) << i;
  }
}

TEST(BatchQueueTest, ConcurrentRequestsShareForwardPasses) {
  std::vector<std::int64_t> batch_sizes;
  BatchOptions options;
  options.max_batch = 6;
  options.batch_wait = std::chrono::milliseconds(200);
  {
    BatchQueue queue(fresh_model(1), options,
                     [&](std::int64_t size) { batch_sizes.push_back(size); });
    std::vector<std::future<BatchResult>> results;
    for (int i = 0; i < 6; ++i) results.push_back(queue.submit(images(1)));
    for (auto& result : results) EXPECT_EQ(result.get().probabilities.size(0), 1);
  }
  // The worker waited for the sixth image (well within 200 ms), so one pass took all six.
  EXPECT_EQ(batch_sizes, std::vector<std::int64_t>{6});
}

TEST(BatchQueueTest, RefusesImagesBeyondTheQueueLimit) {
  BatchOptions options;
  options.max_batch = 256;
  options.max_queued = 256;
  BatchQueue queue(fresh_model(1), options);
  torch::Tensor full = images(256);
  std::vector<std::future<BatchResult>> accepted;
  int refused = 0;
  // A forward pass of 256 images takes milliseconds, a submit microseconds: while the first
  // batch runs (or still waits), one of the next two cannot fit.
  for (int i = 0; i < 3; ++i) {
    try {
      accepted.push_back(queue.submit(full));
    } catch (const QueueFull&) {
      ++refused;
    }
  }
  EXPECT_GE(refused, 1);
  for (auto& result : accepted) EXPECT_EQ(result.get().probabilities.size(0), 256);
}

TEST(BatchQueueTest, LaterBatchesUseTheSwappedModel) {
  auto first = fresh_model(1), second = fresh_model(2);
  BatchQueue queue(first, BatchOptions{});
  EXPECT_EQ(queue.submit(images(1)).get().model, first);
  queue.set_model(second);
  EXPECT_EQ(queue.model(), second);
  BatchResult result = queue.submit(images(1)).get();
  EXPECT_EQ(result.model, second);
}

TEST(BatchQueueTest, StoppingAnswersWhatIsQueued) {
  std::vector<std::future<BatchResult>> results;
  {
    BatchQueue queue(fresh_model(1), BatchOptions{});
    for (int i = 0; i < 20; ++i) results.push_back(queue.submit(images(3)));
  }
  for (auto& result : results) EXPECT_EQ(result.get().probabilities.size(0), 3);
}

}  // namespace
}  // namespace fmnist
