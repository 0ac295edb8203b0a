#include "fmnist/serve/batch_queue.hpp"

#include <gtest/gtest.h>

#include <thread>
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

torch::Tensor images(std::int64_t count, std::uint64_t seed = 1) {
  return testing::make_split(count, seed).images.unsqueeze(1).to(torch::kFloat) / 255;
}

TEST(BatchQueueTest, BatchedProbabilitiesEqualSingleImageOnes) {
  BatchQueue queue(fresh_model(1), BatchOptions{});
  torch::Tensor batch = images(8);
  torch::Tensor together = queue.classify(batch).probabilities;
  ASSERT_EQ(together.sizes(), (torch::IntArrayRef{8, 10}));
  for (std::int64_t i = 0; i < 8; ++i) {
    torch::Tensor alone = queue.classify(batch.slice(0, i, i + 1)).probabilities;
    EXPECT_TRUE(torch::allclose(alone[0], together[i], /*rtol=*/0, /*atol=*/1e-5)) << i;
  }
}

TEST(BatchQueueTest, ConcurrentRequestsShareAForwardPassAndGetTheirOwnRows) {
  std::vector<std::int64_t> batch_sizes;
  BatchOptions options;
  options.max_batch = 6;
  options.batch_wait = std::chrono::seconds(5);  // ends as soon as six images are queued
  BatchQueue queue(fresh_model(1), options,
                   [&](std::int64_t size) { batch_sizes.push_back(size); });
  torch::Tensor all = images(6);
  std::vector<torch::Tensor> rows(6);
  std::vector<std::thread> clients;
  for (int i = 0; i < 6; ++i) {
    clients.emplace_back(
        [&, i] { rows[i] = queue.classify(all.slice(0, i, i + 1)).probabilities; });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(batch_sizes, std::vector<std::int64_t>{6});
  options.batch_wait = {};
  BatchQueue alone(fresh_model(1), options);
  for (int i = 0; i < 6; ++i) {
    torch::Tensor expected = alone.classify(all.slice(0, i, i + 1)).probabilities;
    EXPECT_TRUE(torch::allclose(rows[i], expected, /*rtol=*/0, /*atol=*/1e-5)) << i;
  }
}

// One request of more images than max_batch runs in passes of at most max_batch images, with
// the probabilities of one pass.
TEST(BatchQueueTest, ALargerRequestRunsInPassesOfMaxBatch) {
  std::vector<std::int64_t> batch_sizes;
  BatchOptions options;
  options.max_batch = 2;
  BatchQueue queue(fresh_model(1), options,
                   [&](std::int64_t size) { batch_sizes.push_back(size); });
  torch::Tensor five = images(5);
  torch::Tensor in_passes = queue.classify(five).probabilities;
  EXPECT_EQ(batch_sizes, (std::vector<std::int64_t>{2, 2, 1}));
  BatchQueue whole(fresh_model(1), BatchOptions{});
  EXPECT_TRUE(torch::allclose(in_passes, whole.classify(five).probabilities, /*rtol=*/0,
                              /*atol=*/1e-5));
}

TEST(BatchQueueTest, RefusesImagesBeyondTheQueueLimit) {
  BatchOptions options;
  options.max_batch = 512;
  options.max_queued = 256;
  options.batch_wait = std::chrono::milliseconds(300);  // the first request waits for company
  BatchQueue queue(fresh_model(1), options);
  std::int64_t first_rows = 0;
  std::thread first([&] { first_rows = queue.classify(images(200)).probabilities.size(0); });
  while (queue.queued_images() == 0) std::this_thread::yield();
  EXPECT_THROW(queue.classify(images(100)), QueueFull);  // 300 > 256 while the first waits
  first.join();
  EXPECT_EQ(first_rows, 200);
  EXPECT_EQ(queue.classify(images(100)).probabilities.size(0), 100);  // room again
}

TEST(BatchQueueTest, LaterBatchesUseTheSwappedModel) {
  auto first = fresh_model(1), second = fresh_model(2);
  BatchQueue queue(first, BatchOptions{});
  EXPECT_EQ(queue.classify(images(1)).model, first);
  queue.set_model(second);
  EXPECT_EQ(queue.model(), second);
  EXPECT_EQ(queue.classify(images(1)).model, second);
}

TEST(BatchQueueTest, ManyThreadsEachGetTheirAnswer) {
  BatchQueue queue(fresh_model(1), BatchOptions{});
  constexpr int kThreads = 8, kRounds = 20;
  std::vector<torch::Tensor> inputs, expected;
  for (int i = 0; i < kThreads; ++i) {
    inputs.push_back(images(1 + i % 3, /*seed=*/i));
    expected.push_back(queue.classify(inputs.back()).probabilities);
  }
  std::vector<int> wrong(kThreads, 0);
  std::vector<std::thread> clients;
  for (int i = 0; i < kThreads; ++i) {
    clients.emplace_back([&, i] {
      for (int r = 0; r < kRounds; ++r) {
        torch::Tensor got = queue.classify(inputs[i]).probabilities;
        if (!torch::allclose(got, expected[i], /*rtol=*/0, /*atol=*/1e-5)) ++wrong[i];
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(wrong, std::vector<int>(kThreads, 0));
}

}  // namespace
}  // namespace fmnist
