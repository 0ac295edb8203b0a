#include "fmnist/serve/batch_queue.hpp"

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "fmnist/report/summary.hpp"

namespace fmnist {

ServedModel::ServedModel(Checkpoint checkpoint_in, std::string path_in, bool tta)
    : checkpoint(std::move(checkpoint_in)),
      path(std::move(path_in)),
      info_json(format_checkpoint_json(checkpoint, path)),
      inference(std::make_unique<InferenceModel>(checkpoint.model, tta)) {}

BatchQueue::BatchQueue(std::shared_ptr<const ServedModel> model, BatchOptions options,
                       std::function<void(std::int64_t)> on_batch)
    : options_(options), on_batch_(std::move(on_batch)), model_(std::move(model)) {
  TORCH_CHECK(options_.max_batch > 0 && options_.max_queued > 0, "empty batch queue limits");
  worker_ = std::thread([this] { work(); });
}

BatchQueue::~BatchQueue() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

std::future<BatchResult> BatchQueue::submit(torch::Tensor images) {
  Request request{std::move(images), {}};
  std::future<BatchResult> result = request.result.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::int64_t count = request.images.size(0);
    if (queued_images_ + count > options_.max_queued) {
      throw QueueFull("the queue holds " + std::to_string(queued_images_) + " images");
    }
    queued_images_ += count;
    queue_.push_back(std::move(request));
  }
  wake_.notify_all();
  return result;
}

void BatchQueue::set_model(std::shared_ptr<const ServedModel> model) {
  std::lock_guard<std::mutex> lock(mutex_);
  model_ = std::move(model);
}

std::shared_ptr<const ServedModel> BatchQueue::model() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return model_;
}

std::int64_t BatchQueue::queued_images() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queued_images_;
}

// Takes the oldest requests up to max_batch images (a larger request alone), after waiting up
// to batch_wait for the batch to fill. Empty when stopping with nothing queued.
std::deque<BatchQueue::Request> BatchQueue::take_batch(std::unique_lock<std::mutex>& lock) {
  wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
  if (options_.batch_wait.count() > 0 && !stopping_) {
    wake_.wait_for(lock, options_.batch_wait,
                   [&] { return stopping_ || queued_images_ >= options_.max_batch; });
  }
  std::deque<Request> batch;
  std::int64_t images = 0;
  while (!queue_.empty()) {
    std::int64_t count = queue_.front().images.size(0);
    if (!batch.empty() && images + count > options_.max_batch) break;
    images += count;
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  queued_images_ -= images;
  return batch;
}

void BatchQueue::work() {
  for (;;) {
    std::deque<Request> batch;
    std::shared_ptr<const ServedModel> model;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      batch = take_batch(lock);
      if (batch.empty()) return;  // stopping, and all answered
      model = model_;
    }
    std::vector<torch::Tensor> images;
    for (const Request& request : batch) images.push_back(request.images);
    try {
      torch::InferenceMode inference;
      torch::Tensor all = torch::cat(images);
      torch::Device device = model->checkpoint.model->parameters().front().device();
      torch::Tensor probabilities =
          torch::softmax(model->inference->logits(all.to(device)), /*dim=*/1).cpu();
      if (on_batch_) on_batch_(all.size(0));
      std::int64_t row = 0;
      for (Request& request : batch) {
        std::int64_t count = request.images.size(0);
        request.result.set_value({probabilities.slice(/*dim=*/0, row, row + count), model});
        row += count;
      }
    } catch (...) {
      for (Request& request : batch) request.result.set_exception(std::current_exception());
    }
  }
}

}  // namespace fmnist
