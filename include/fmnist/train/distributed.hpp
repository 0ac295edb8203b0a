#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fmnist/data/dataset.hpp"
#include "fmnist/model/checkpoint.hpp"
#include "fmnist/model/model.hpp"

namespace fmnist {

inline constexpr int kDefaultMasterPort = 29500;  // c10d's and torchrun's default
inline constexpr double kDefaultDistTimeoutSeconds = 60;

// How `fmnist train` takes part in data-parallel training. Each unset field falls back to the
// torchrun environment variable named beside it.
struct DistributedOptions {
  int nproc = 1;                           // --nproc: local ranks to start (launcher)
  std::optional<int> rank;                 // --rank, $RANK
  std::optional<int> world_size;           // --world-size, $WORLD_SIZE
  std::optional<int> local_rank;           // --local-rank, $LOCAL_RANK
  std::optional<std::string> master_addr;  // --master-addr, $MASTER_ADDR, else 127.0.0.1
  std::optional<int> master_port;          // --master-port, $MASTER_PORT, else 29500
  double timeout_seconds = kDefaultDistTimeoutSeconds;  // --dist-timeout
};

// This process's place in a run, resolved from the options and the environment.
struct RankConfig {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = kDefaultMasterPort;
  // A launcher (torchrun, or fmnist's own --nproc) hosts the store at master_addr:master_port
  // and every rank is its client, under key prefix store_prefix; otherwise rank 0 hosts it.
  bool agent_store = false;
  std::string store_prefix;
  std::chrono::milliseconds timeout{static_cast<long>(kDefaultDistTimeoutSeconds * 1000)};
};

// UsageError naming the flag or variable for a malformed or inconsistent value.
RankConfig resolve_rank_config(const DistributedOptions& options);

// Whether this build has c10d's Gloo, which ranks on the CPU need (its headers are optional).
bool cpu_ranks_available();

// `requested` CPU threads per rank; 0 (one per core) shares the cores among the local ranks.
int threads_per_rank(int requested, const RankConfig& config);

// The device of this rank: the CUDA GPU LOCAL_RANK (modulo the GPU count) for a CUDA run.
torch::Device rank_device(torch::Device device, const RankConfig& config);

// A contiguous part [begin, end) of a range.
struct Part {
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::int64_t size() const { return end - begin; }
};

// Part `rank` of `count` items split into `world_size` contiguous parts, in rank order, whose
// sizes differ by at most one (some are empty when count < world_size).
Part part_of(std::int64_t count, int rank, int world_size);

// The ranks of one data-parallel run, on c10d: a TCPStore for the rendezvous, Gloo on the
// CPU, NCCL on CUDA GPUs where LibTorch has it. Every rank must make the same calls in the
// same order. A collective that fails (a rank died, or did not answer within the timeout)
// throws Error saying so. With world size 1 nothing is communicated.
class ProcessGroup {
 public:
  ProcessGroup();  // a group of one
  // Rendezvous with the other ranks (within config.timeout) on `device`, the device of this
  // rank's tensors. Ranks other than 0 then log warnings and errors only.
  static ProcessGroup join(const RankConfig& config, torch::Device device);
  ProcessGroup(ProcessGroup&&) noexcept;
  ProcessGroup& operator=(ProcessGroup&&) noexcept;
  ~ProcessGroup();

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  bool is_leader() const { return rank_ == 0; }

  // This rank's part of `count` items (see part_of).
  Part part(std::int64_t count) const { return part_of(count, rank_, world_size_); }

  // Rank 0's values into every rank's `tensors` (in place).
  void broadcast(const std::vector<torch::Tensor>& tensors);
  // Every parameter's gradient becomes the sum of the ranks' gradients (undefined ones count as
  // zeros), through a few flat buckets rather than one call per tensor. Each rank's loss is
  // divided by the global batch size, so the sum is the global batch's mean gradient.
  void sum_gradients(const std::vector<torch::Tensor>& parameters);
  // The element-wise sum over the ranks of a small CPU tensor (float64 or int64).
  torch::Tensor sum(const torch::Tensor& values);
  // The largest of the ranks' values: a stop vote (e.g. of pending signal numbers).
  std::int64_t max(std::int64_t value);
  // Mean loss and accuracy over all ranks' items, from each rank's metrics over `count` items.
  SplitMetrics mean(const SplitMetrics& metrics, std::int64_t count);
  // Returns when every rank has called it.
  void barrier();

 private:
  struct Backend;
  std::unique_ptr<Backend> backend_;
  int rank_ = 0;
  int world_size_ = 1;
};

// Loss and accuracy of `model` on `data`, each rank evaluating its part.
SplitMetrics evaluate_sharded(ProcessGroup& group, Net& model, const Dataset& data);

}  // namespace fmnist
