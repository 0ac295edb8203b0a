#include "fmnist/serve/batch_queue.hpp"

#include <utility>
#include <vector>

#include "fmnist/report/summary.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fmnist {
namespace {

// LibTorch's (and oneDNN's) thread count for the calling thread only: with OpenMP it is the
// thread's own setting, read by every parallel region it starts. Other builds keep theirs.
void use_threads_here(int threads) {
#ifdef _OPENMP
  at::get_num_threads();  // LibTorch sets a new thread's count on first use: let it, then ours
  omp_set_num_threads(threads);
#else
  (void)threads;
#endif
}

}  // namespace

// The images of every request of a batch, in one tensor; a lone request's own, without cat's
// copy.
torch::Tensor BatchQueue::concatenated(const std::deque<Request*>& batch) {
  if (batch.size() == 1) return batch.front()->images;
  std::vector<torch::Tensor> images;
  for (const Request* request : batch) images.push_back(request->images);
  return torch::cat(images);
}

ServedModel::ServedModel(Checkpoint checkpoint_in, std::string path_in, bool tta)
    : checkpoint(std::move(checkpoint_in)),
      path(std::move(path_in)),
      info_json(format_checkpoint_json(checkpoint, path)),
      device(checkpoint.model->parameters().front().device()),
      inference(std::make_unique<InferenceModel>(checkpoint.model, tta)) {}

BatchQueue::BatchQueue(std::shared_ptr<const ServedModel> model, BatchOptions options,
                       std::function<void(std::int64_t)> on_batch)
    : options_(options), on_batch_(std::move(on_batch)), model_(std::move(model)) {
  TORCH_CHECK(options_.max_batch > 0 && options_.max_queued > 0 && options_.threads > 0,
              "empty batch queue limits");
}

BatchResult BatchQueue::classify(torch::Tensor images) {
  Request request{std::move(images), {}, nullptr, false};
  std::unique_lock<std::mutex> lock(mutex_);
  const std::int64_t count = request.images.size(0);
  if (queued_images_ + count > options_.max_queued) {
    throw QueueFull("the queue holds " + std::to_string(queued_images_) + " images");
  }
  queued_images_ += count;
  queue_.push_back(&request);
  changed_.notify_all();  // a pass waiting for a fuller batch may now be full
  while (!request.done) {
    if (running_) {
      changed_.wait(lock);
      continue;
    }
    running_ = true;
    std::deque<Request*> batch = take_batch(lock);
    std::shared_ptr<const ServedModel> model = model_;
    lock.unlock();
    run_batch(batch, model);
    lock.lock();
    for (Request* done : batch) done->done = true;
    running_ = false;
    changed_.notify_all();
  }
  if (request.error) std::rethrow_exception(request.error);
  return std::move(request.result);
}

// The oldest requests up to max_batch images (a larger request alone, run in passes of max_batch),
// after waiting up to batch_wait for that many. Called with the lock held and at least one request
// queued.
std::deque<BatchQueue::Request*> BatchQueue::take_batch(std::unique_lock<std::mutex>& lock) {
  if (options_.batch_wait.count() > 0) {
    changed_.wait_for(lock, options_.batch_wait,
                      [&] { return queued_images_ >= options_.max_batch; });
  }
  std::deque<Request*> batch;
  std::int64_t images = 0;
  while (!queue_.empty()) {
    std::int64_t count = queue_.front()->images.size(0);
    if (!batch.empty() && images + count > options_.max_batch) break;
    images += count;
    batch.push_back(queue_.front());
    queue_.pop_front();
  }
  queued_images_ -= images;
  return batch;
}

// The probabilities of `images` from one forward pass, on the CPU.
torch::Tensor BatchQueue::forward_pass(const torch::Tensor& images, const ServedModel& model) {
  use_threads_here(images.size(0) < kParallelBatch ? 1 : options_.threads);
  torch::Tensor probabilities = torch::softmax(model.inference->logits(images), /*dim=*/1);
  if (on_batch_) on_batch_(images.size(0));
  return probabilities.is_cpu() ? probabilities : probabilities.cpu();
}

void BatchQueue::run_batch(const std::deque<Request*>& batch,
                           const std::shared_ptr<const ServedModel>& model) {
  try {
    torch::InferenceMode inference;
    torch::Tensor all = concatenated(batch);
    if (model->device != all.device()) all = all.to(model->device);
    torch::Tensor probabilities;
    if (all.size(0) <= options_.max_batch) {
      probabilities = forward_pass(all, *model);
    } else {  // one request of more images than max_batch: in passes of at most that many
      std::vector<torch::Tensor> passes;
      for (const torch::Tensor& part : all.split(options_.max_batch)) {
        passes.push_back(forward_pass(part, *model));
      }
      probabilities = torch::cat(passes);
    }
    std::int64_t row = 0;
    for (Request* request : batch) {
      std::int64_t count = request->images.size(0);
      request->result = {probabilities.slice(/*dim=*/0, row, row + count), model};
      row += count;
    }
  } catch (...) {
    for (Request* request : batch) request->error = std::current_exception();
  }
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

}  // namespace fmnist
