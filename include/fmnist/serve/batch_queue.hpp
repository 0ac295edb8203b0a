#pragma once

#include <torch/torch.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "fmnist/model/checkpoint.hpp"
#include "fmnist/model/inference.hpp"

namespace fmnist {

// A checkpoint loaded for serving: its metadata and its inference path, never changed once
// built (a reload builds a new one).
struct ServedModel {
  ServedModel(Checkpoint checkpoint, std::string path, bool tta);

  Checkpoint checkpoint;
  std::string path;
  std::string info_json;  // what `fmnist info --json` writes about it
  torch::Device device;   // where its parameters are
  std::unique_ptr<InferenceModel> inference;
};

// Thrown by BatchQueue::classify when the queue holds its limit of images.
class QueueFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The class probabilities of one request's images, and the model that computed them (a
// reload may swap the queue's model while a request waits).
struct BatchResult {
  torch::Tensor probabilities;  // float [images, classes], on the CPU
  std::shared_ptr<const ServedModel> model;
};

struct BatchOptions {
  std::int64_t max_batch = 64;              // images per forward pass
  std::chrono::microseconds batch_wait{0};  // how long to wait for a fuller batch
  std::int64_t max_queued = 1024;           // images waiting; more is QueueFull
  int threads = 1;                          // LibTorch threads for a batch of kParallelBatch
};

// Batches of fewer images run on one thread: waking the other threads costs more than they
// save (a 28x28 image is a few microseconds of work).
inline constexpr std::int64_t kParallelBatch = 16;

// Classifies the images of concurrent requests together. Whichever calling thread finds no
// forward pass running runs the next one itself, on whatever is queued (up to max_batch
// images, oldest first): an idle queue adds no wait and no thread hand-over, and under load
// batches form by themselves while a pass runs.
class BatchQueue {
 public:
  // `on_batch` (optional) sees the size of every forward pass, for metrics.
  BatchQueue(std::shared_ptr<const ServedModel> model, BatchOptions options,
             std::function<void(std::int64_t)> on_batch = {});
  BatchQueue(const BatchQueue&) = delete;
  BatchQueue& operator=(const BatchQueue&) = delete;

  // The probabilities of float images [N, 1, 28, 28] in [0, 1], once a forward pass has
  // computed them; QueueFull when they would pass max_queued.
  BatchResult classify(torch::Tensor images);

  // Later batches use `model`; those already running finish with the old one.
  void set_model(std::shared_ptr<const ServedModel> model);
  std::shared_ptr<const ServedModel> model() const;

  std::int64_t queued_images() const;
  std::int64_t capacity() const { return options_.max_queued; }

 private:
  struct Request {
    torch::Tensor images;
    BatchResult result;
    std::exception_ptr error;
    bool done = false;
  };

  std::deque<Request*> take_batch(std::unique_lock<std::mutex>& lock);
  static torch::Tensor concatenated(const std::deque<Request*>& batch);
  void run_batch(const std::deque<Request*>& batch,
                 const std::shared_ptr<const ServedModel>& model);
  torch::Tensor forward_pass(const torch::Tensor& images, const ServedModel& model);

  const BatchOptions options_;
  const std::function<void(std::int64_t)> on_batch_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Request*> queue_;
  std::int64_t queued_images_ = 0;
  bool running_ = false;  // a thread is running a forward pass
  std::shared_ptr<const ServedModel> model_;
};

}  // namespace fmnist
