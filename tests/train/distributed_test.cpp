#include "fmnist/train/distributed.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdlib>
#include <future>
#include <map>
#include <thread>

#include "fmnist/base/error.hpp"
#include "test_util.hpp"

namespace fmnist {
namespace {

constexpr const char* kTorchrunVariables[] = {"RANK",
                                              "WORLD_SIZE",
                                              "LOCAL_RANK",
                                              "LOCAL_WORLD_SIZE",
                                              "MASTER_ADDR",
                                              "MASTER_PORT",
                                              "TORCHELASTIC_USE_AGENT_STORE",
                                              "TORCHELASTIC_RESTART_COUNT"};

// Clears torchrun's variables for a test and puts them back afterwards.
class RankConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kTorchrunVariables) {
      if (const char* value = std::getenv(name)) saved_[name] = value;
      unsetenv(name);
    }
  }
  void TearDown() override {
    for (const char* name : kTorchrunVariables) unsetenv(name);
    for (const auto& [name, value] : saved_) setenv(name.c_str(), value.c_str(), 1);
  }

  std::map<std::string, std::string> saved_;
};

std::string usage_error(const DistributedOptions& options) {
  try {
    resolve_rank_config(options);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no error";
}

TEST_F(RankConfigTest, WithoutFlagsOrEnvironmentIsOneRank) {
  RankConfig config = resolve_rank_config({});
  EXPECT_EQ(config.world_size, 1);
  EXPECT_EQ(config.rank, 0);
  EXPECT_EQ(config.master_port, kDefaultMasterPort);
  EXPECT_FALSE(config.agent_store);
}

TEST_F(RankConfigTest, ReadsTheTorchrunEnvironment) {
  setenv("RANK", "3", 1);
  setenv("WORLD_SIZE", "4", 1);
  setenv("LOCAL_RANK", "1", 1);
  setenv("LOCAL_WORLD_SIZE", "2", 1);
  setenv("MASTER_ADDR", "10.0.0.1", 1);
  setenv("MASTER_PORT", "1234", 1);
  setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);
  setenv("TORCHELASTIC_RESTART_COUNT", "2", 1);
  DistributedOptions options;
  options.timeout_seconds = 1.5;
  RankConfig config = resolve_rank_config(options);
  EXPECT_EQ(config.rank, 3);
  EXPECT_EQ(config.world_size, 4);
  EXPECT_EQ(config.local_rank, 1);
  EXPECT_EQ(config.local_world_size, 2);
  EXPECT_EQ(config.master_addr, "10.0.0.1");
  EXPECT_EQ(config.master_port, 1234);
  EXPECT_TRUE(config.agent_store);
  EXPECT_EQ(config.store_prefix, "/worker/attempt_2");
  EXPECT_EQ(config.timeout.count(), 1500);
}

TEST_F(RankConfigTest, FlagsOverrideTheEnvironment) {
  setenv("RANK", "0", 1);
  setenv("WORLD_SIZE", "2", 1);
  setenv("MASTER_ADDR", "10.0.0.1", 1);
  DistributedOptions options;
  options.rank = 2;
  options.world_size = 3;
  options.master_addr = "10.0.0.9";
  options.master_port = 4000;
  RankConfig config = resolve_rank_config(options);
  EXPECT_EQ(config.rank, 2);
  EXPECT_EQ(config.world_size, 3);
  EXPECT_EQ(config.local_rank, 2);  // defaults to the rank
  EXPECT_EQ(config.master_addr, "10.0.0.9");
  EXPECT_EQ(config.master_port, 4000);
}

TEST_F(RankConfigTest, BadValuesAreUsageErrorsNamingTheirSource) {
  DistributedOptions options;
  options.world_size = 2;
  EXPECT_NE(usage_error(options).find("each process needs its --rank"), std::string::npos);
  options.rank = 2;
  EXPECT_EQ(usage_error(options), "--rank: 2 is outside 0..1");
  setenv("RANK", "one", 1);
  setenv("WORLD_SIZE", "2", 1);
  EXPECT_EQ(usage_error({}), "RANK: 'one' is not a whole number");
  setenv("RANK", "1", 1);
  setenv("MASTER_PORT", "70000", 1);
  EXPECT_EQ(usage_error({}), "MASTER_PORT: 70000 is outside 1..65535");
  unsetenv("MASTER_PORT");
  DistributedOptions no_time;
  no_time.timeout_seconds = 0;
  EXPECT_NE(usage_error(no_time).find("--dist-timeout"), std::string::npos);
}

TEST_F(RankConfigTest, AutomaticThreadsShareTheCoresAmongLocalRanks) {
  RankConfig config;
  EXPECT_EQ(threads_per_rank(3, config), 3);
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(threads_per_rank(0, config), cores);
  config.local_world_size = 4 * cores;
  EXPECT_EQ(threads_per_rank(0, config), 1);
}

TEST(PartTest, PartsTileTheRangeInRankOrderWithSizesDifferingByAtMostOne) {
  for (std::int64_t count : {0, 1, 5, 10, 31}) {
    for (int world_size : {1, 2, 3}) {
      std::int64_t next = 0;
      for (int rank = 0; rank < world_size; ++rank) {
        Part part = part_of(count, rank, world_size);
        EXPECT_EQ(part.begin, next) << count << " " << rank << "/" << world_size;
        EXPECT_LE(std::abs(part.size() - count / world_size), 1);
        next = part.end;
      }
      EXPECT_EQ(next, count);
    }
  }
}

TEST(ProcessGroupTest, AGroupOfOneLeavesEverythingAsItIs) {
  ProcessGroup group;
  EXPECT_EQ(group.world_size(), 1);
  EXPECT_TRUE(group.is_leader());
  EXPECT_EQ(group.max(7), 7);
  torch::Tensor values = torch::tensor({1.5, 2.5}, torch::kFloat64);
  EXPECT_TRUE(torch::equal(group.sum(values), values));
  SplitMetrics metrics{0.5, 0.25};
  EXPECT_DOUBLE_EQ(group.mean(metrics, 10).loss, 0.5);
  EXPECT_EQ(group.part(10).size(), 10);
}

struct RankResults {
  std::vector<torch::Tensor> parameters;
  std::vector<torch::Tensor> gradients;
  std::int64_t max = 0;
  SplitMetrics mean;
  SplitMetrics mean_with_an_empty_rank;
};

// What rank `rank` of two sees after each collective. The big tensor makes a bucket of its
// own, so the gradients travel in three buckets.
RankResults run_rank(int rank, int port) {
  RankConfig config;
  config.rank = rank;
  config.world_size = 2;
  config.master_port = port;
  config.timeout = std::chrono::seconds(30);
  ProcessGroup group = ProcessGroup::join(config, torch::kCPU);
  double own = rank + 1.0;
  std::vector<torch::Tensor> parameters = {torch::full({3, 4}, own).requires_grad_(),
                                           torch::full({7 << 20}, own).requires_grad_(),
                                           torch::full({5}, own).requires_grad_()};
  group.broadcast(parameters);
  parameters[0].mutable_grad() = torch::full({3, 4}, own);
  parameters[1].mutable_grad() = torch::full({7 << 20}, 10 * own);
  if (rank == 0) parameters[2].mutable_grad() = torch::full({5}, 3.0);  // rank 1: undefined
  group.sum_gradients(parameters);
  RankResults results;
  results.parameters = parameters;
  for (const auto& p : parameters) results.gradients.push_back(p.grad());
  results.max = group.max(rank == 0 ? 2 : 15);
  results.mean = group.mean({own, own / 10}, /*count=*/rank == 0 ? 1 : 3);
  results.mean_with_an_empty_rank =
      group.mean(rank == 0 ? SplitMetrics{0.5, 0.75} : SplitMetrics{}, /*count=*/1 - rank);
  group.barrier();
  return results;
}

TEST(ProcessGroupTest, TwoRanksBroadcastSumAndVoteOverGloo) {
  if (!cpu_ranks_available()) FMNIST_SKIP_OUTSIDE_CI("this build has no Gloo (CPU ranks)");
  int port = testing::free_port();
  auto level = spdlog::get_level();
  auto second = std::async(std::launch::async, run_rank, /*rank=*/1, port);
  RankResults first = run_rank(/*rank=*/0, port);
  RankResults other = second.get();
  spdlog::set_level(level);  // joining as rank 1 quietened the log
  for (const RankResults& results : {first, other}) {
    for (const auto& p : results.parameters) EXPECT_TRUE(torch::all(p == 1.0).item<bool>());
    EXPECT_TRUE(torch::all(results.gradients[0] == 3.0).item<bool>());
    EXPECT_TRUE(torch::all(results.gradients[1] == 30.0).item<bool>());
    EXPECT_TRUE(torch::all(results.gradients[2] == 3.0).item<bool>());
    EXPECT_EQ(results.max, 15);
    EXPECT_DOUBLE_EQ(results.mean.loss, (1.0 * 1 + 2.0 * 3) / 4);
    EXPECT_DOUBLE_EQ(results.mean.accuracy, (0.1 * 1 + 0.2 * 3) / 4);
    EXPECT_DOUBLE_EQ(results.mean_with_an_empty_rank.loss, 0.5);
    EXPECT_DOUBLE_EQ(results.mean_with_an_empty_rank.accuracy, 0.75);
  }
}

}  // namespace
}  // namespace fmnist
