#include "fmnist/train/distributed.hpp"

#include <spdlog/spdlog.h>
#include <torch/version.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#ifdef FMNIST_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <thread>

#include "fmnist/base/error.hpp"
#include "fmnist/eval/evaluate.hpp"

namespace fmnist {

// LibTorch 2 moved the collectives from ProcessGroup to Backend, the base of ProcessGroupGloo
// and ProcessGroupNCCL there; the calls fmnist makes are the same on both.
#if TORCH_VERSION_MAJOR >= 2
using Collectives = c10d::Backend;
#else
using Collectives = c10d::ProcessGroup;
#endif

struct ProcessGroup::Backend {
  c10::intrusive_ptr<c10d::Store> store;  // declared first: outlives the collectives
  c10::intrusive_ptr<Collectives> collectives;
  torch::Device device;
  std::chrono::milliseconds timeout;
};

namespace {

constexpr std::int64_t kBucketBytes = 25 << 20;  // PyTorch DDP's default bucket size
constexpr int kMaxRanks = 1 << 16;

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// The value of a flag, else of an environment variable, checked against [min, max].
std::optional<int> flag_or_environment(const std::optional<int>& flag, const std::string& flag_name,
                                       const char* variable, int min, int max) {
  std::string source = flag ? flag_name : variable;
  long value = 0;
  if (flag) {
    value = *flag;
  } else if (auto text = environment(variable)) {
    char* end = nullptr;
    value = std::strtol(text->c_str(), &end, /*base=*/10);
    if (*end != '\0' || end == text->c_str()) {
      throw UsageError(source + ": '" + *text + "' is not a whole number");
    }
  } else {
    return std::nullopt;
  }
  if (value < min || value > max) {
    throw UsageError(fmt::format("{}: {} is outside {}..{}", source, value, min, max));
  }
  return static_cast<int>(value);
}

c10::intrusive_ptr<c10d::Store> connect_store(const RankConfig& config) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(config.master_port);
  options.isServer = !config.agent_store && config.rank == 0;
  options.numWorkers = config.world_size;  // the server waits for all of them
  options.timeout = config.timeout;
  auto store = c10::make_intrusive<c10d::TCPStore>(config.master_addr, options);
  if (!config.agent_store) return store;
  return c10::make_intrusive<c10d::PrefixStore>(config.store_prefix, store);
}

#ifdef FMNIST_WITH_GLOO
bool is_loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

// The network interface Gloo uses: $GLOO_SOCKET_IFNAME as PyTorch does, loopback for a
// single-machine run, else the address this machine's hostname resolves to.
std::shared_ptr<::gloo::transport::Device> gloo_device(const RankConfig& config) {
  if (auto interface = environment("GLOO_SOCKET_IFNAME")) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(*interface);
  }
  if (is_loopback(config.master_addr)) {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}
#endif

c10::intrusive_ptr<Collectives> make_collectives(const c10::intrusive_ptr<c10d::Store>& store,
                                                 const RankConfig& config, torch::Device device) {
  if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = config.timeout;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, config.rank, config.world_size,
                                                       options);
#else
    throw UsageError(
        "--device cuda: several ranks on GPUs need a LibTorch with NCCL (USE_C10D_NCCL), which "
        "this build lacks; use --device cpu");
#endif
  }
#ifdef FMNIST_WITH_GLOO
  auto options = c10d::ProcessGroupGloo::Options::create(config.timeout);
  options->devices.push_back(gloo_device(config));
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, config.rank, config.world_size,
                                                     options);
#else
  throw UsageError(
      "--device cpu: several ranks on the CPU need c10d's Gloo, which this build lacks (its "
      "headers were not found when it was built: install libgloo-dev and rebuild)");
#endif
}

// Runs `body`, turning any failure of c10d into an Error that names this rank and the call.
template <typename Body>
auto guarded(int rank, const std::string& what, std::chrono::milliseconds timeout, Body body) {
  try {
    return body();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(fmt::format(
        "rank {}: {} failed: {} (another rank stopped, or did not answer within --dist-timeout "
        "{} s)",
        rank, what, describe(e), timeout.count() / 1000.0));
  }
}

// Consecutive tensors of one dtype in buckets of at most kBucketBytes (a larger one alone).
std::vector<std::vector<torch::Tensor>> into_buckets(const std::vector<torch::Tensor>& tensors) {
  std::vector<std::vector<torch::Tensor>> buckets;
  std::int64_t bytes = 0;
  for (const torch::Tensor& tensor : tensors) {
    std::int64_t size = tensor.numel() * static_cast<std::int64_t>(tensor.element_size());
    if (buckets.empty() || bytes + size > kBucketBytes ||
        buckets.back().front().scalar_type() != tensor.scalar_type()) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(tensor);
    bytes += size;
  }
  return buckets;
}

torch::Tensor flatten(const std::vector<torch::Tensor>& bucket) {
  std::vector<torch::Tensor> flat;
  for (const torch::Tensor& tensor : bucket) flat.push_back(tensor.reshape({-1}));
  return torch::cat(flat);
}

void unflatten_into(const torch::Tensor& flat, const std::vector<torch::Tensor>& bucket) {
  std::int64_t offset = 0;
  for (const torch::Tensor& tensor : bucket) {
    tensor.copy_(flat.slice(/*dim=*/0, offset, offset + tensor.numel()).view_as(tensor));
    offset += tensor.numel();
  }
}

using Launch = std::function<c10::intrusive_ptr<c10d::Work>(std::vector<torch::Tensor>&)>;

// Runs `launch` on every bucket of `tensors` flattened (all in flight at once), then writes
// the results back into `tensors`.
void in_buckets(const std::vector<torch::Tensor>& tensors, const Launch& launch) {
  std::vector<std::vector<torch::Tensor>> buckets = into_buckets(tensors);
  std::vector<std::vector<torch::Tensor>> flats;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (const auto& bucket : buckets) {
    flats.push_back({flatten(bucket)});
    works.push_back(launch(flats.back()));
  }
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    works[i]->wait();
    unflatten_into(flats[i].front(), buckets[i]);
  }
}

}  // namespace

bool cpu_ranks_available() {
#ifdef FMNIST_WITH_GLOO
  return true;
#else
  return false;
#endif
}

RankConfig resolve_rank_config(const DistributedOptions& options) {
  RankConfig config;
  if (!(options.timeout_seconds > 0) || !std::isfinite(options.timeout_seconds)) {
    throw UsageError("--dist-timeout: must be a positive number of seconds");
  }
  config.timeout = std::chrono::milliseconds(std::llround(options.timeout_seconds * 1000));
  config.world_size = flag_or_environment(options.world_size, "--world-size", "WORLD_SIZE",
                                          /*min=*/1, kMaxRanks)
                          .value_or(1);
  std::optional<int> rank =
      flag_or_environment(options.rank, "--rank", "RANK", /*min=*/0, config.world_size - 1);
  if (config.world_size > 1 && !rank) {
    throw UsageError(
        fmt::format("--world-size {}: each process needs its --rank (or RANK)", config.world_size));
  }
  config.rank = rank.value_or(0);
  config.local_rank = flag_or_environment(options.local_rank, "--local-rank", "LOCAL_RANK",
                                          /*min=*/0, kMaxRanks)
                          .value_or(config.rank);
  // Without LOCAL_WORLD_SIZE (set by torchrun and --nproc) a rank is taken to be alone on its
  // machine.
  config.local_world_size = flag_or_environment(std::nullopt, "", "LOCAL_WORLD_SIZE",
                                                /*min=*/1, kMaxRanks)
                                .value_or(1);
  config.master_addr =
      options.master_addr.value_or(environment("MASTER_ADDR").value_or(config.master_addr));
  config.master_port = flag_or_environment(options.master_port, "--master-port", "MASTER_PORT",
                                           /*min=*/1, /*max=*/65535)
                           .value_or(kDefaultMasterPort);
  config.agent_store = environment("TORCHELASTIC_USE_AGENT_STORE") == std::string("True");
  config.store_prefix =
      "/worker/attempt_" + environment("TORCHELASTIC_RESTART_COUNT").value_or("0");
  return config;
}

int threads_per_rank(int requested, const RankConfig& config) {
  if (requested != 0) return requested;
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / config.local_world_size);
}

torch::Device rank_device(torch::Device device, const RankConfig& config) {
  if (!device.is_cuda() || config.world_size == 1) return device;
  auto index = static_cast<int>(config.local_rank % torch::cuda::device_count());
  return torch::Device(torch::kCUDA, static_cast<torch::DeviceIndex>(index));
}

Part part_of(std::int64_t count, int rank, int world_size) {
  std::int64_t base = count / world_size;
  std::int64_t extra = count % world_size;
  std::int64_t begin = rank * base + std::min<std::int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

ProcessGroup::ProcessGroup() = default;
ProcessGroup::ProcessGroup(ProcessGroup&&) noexcept = default;
ProcessGroup& ProcessGroup::operator=(ProcessGroup&&) noexcept = default;
ProcessGroup::~ProcessGroup() = default;

ProcessGroup ProcessGroup::join(const RankConfig& config, torch::Device device) {
  ProcessGroup group;
  if (config.world_size == 1) return group;
  group.rank_ = config.rank;
  group.world_size_ = config.world_size;
  if (!group.is_leader()) {
    spdlog::set_level(std::max(spdlog::get_level(), spdlog::level::warn));
  }
  std::string what = fmt::format("joining {} ranks at {}:{}", config.world_size, config.master_addr,
                                 config.master_port);
  group.backend_ = guarded(config.rank, what, config.timeout, [&] {
    auto store = connect_store(config);
    auto collectives = make_collectives(store, config, device);
    return std::make_unique<Backend>(Backend{store, collectives, device, config.timeout});
  });
  spdlog::info("rank {} of {} joined at {}:{} ({}, timeout {} s)", config.rank, config.world_size,
               config.master_addr, config.master_port,
               group.backend_->collectives->getBackendName(), config.timeout.count() / 1000.0);
  return group;
}

void ProcessGroup::broadcast(const std::vector<torch::Tensor>& tensors) {
  if (world_size_ == 1) return;
  torch::NoGradGuard no_grad;
  guarded(rank_, "broadcast from rank 0", backend_->timeout, [&] {
    in_buckets(tensors, [&](std::vector<torch::Tensor>& flat) {
      return backend_->collectives->broadcast(flat);
    });
  });
}

void ProcessGroup::sum_gradients(const std::vector<torch::Tensor>& parameters) {
  if (world_size_ == 1) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> gradients;
  for (const torch::Tensor& parameter : parameters) {
    if (!parameter.grad().defined()) parameter.mutable_grad() = torch::zeros_like(parameter);
    gradients.push_back(parameter.grad());
  }
  guarded(rank_, "gradient all-reduce", backend_->timeout, [&] {
    in_buckets(gradients, [&](std::vector<torch::Tensor>& flat) {
      return backend_->collectives->allreduce(flat);
    });
  });
}

torch::Tensor ProcessGroup::sum(const torch::Tensor& values) {
  if (world_size_ == 1) return values;
  std::vector<torch::Tensor> on_device = {values.to(backend_->device, /*non_blocking=*/false,
                                                    /*copy=*/true)};
  guarded(rank_, "all-reduce", backend_->timeout,
          [&] { backend_->collectives->allreduce(on_device)->wait(); });
  return on_device.front().cpu();
}

std::int64_t ProcessGroup::max(std::int64_t value) {
  if (world_size_ == 1) return value;
  std::vector<torch::Tensor> on_device = {
      torch::full({1}, value, torch::TensorOptions(torch::kInt64).device(backend_->device))};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::MAX;
  guarded(rank_, "stop vote", backend_->timeout,
          [&] { backend_->collectives->allreduce(on_device, options)->wait(); });
  return on_device.front().item<std::int64_t>();
}

SplitMetrics ProcessGroup::mean(const SplitMetrics& metrics, std::int64_t count) {
  if (world_size_ == 1) return metrics;
  // A rank without items adds zeros, not its NaN metrics.
  double weight = static_cast<double>(count);
  torch::Tensor totals = sum(torch::tensor({count > 0 ? metrics.loss * weight : 0.0,
                                            count > 0 ? metrics.accuracy * weight : 0.0, weight},
                                           torch::kFloat64));
  auto total = totals.accessor<double, 1>();
  return {total[0] / total[2], total[1] / total[2]};
}

void ProcessGroup::barrier() { sum(torch::zeros({1}, torch::kInt64)); }

SplitMetrics evaluate_sharded(ProcessGroup& group, Net& model, const Dataset& data) {
  Part part = group.part(data.size());
  Dataset shard{data.images.slice(/*dim=*/0, part.begin, part.end),
                data.labels.slice(/*dim=*/0, part.begin, part.end)};
  SplitMetrics local = part.size() > 0 ? evaluate(model, shard).metrics : SplitMetrics{};
  return group.mean(local, part.size());
}

}  // namespace fmnist
