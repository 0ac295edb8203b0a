#include "fmnist/serve/connection_pool.hpp"

#include <ATen/Parallel.h>

#include <utility>

namespace fmnist {

ConnectionPool::ConnectionPool(std::size_t threads) : limit_(threads) {
  for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
}

ConnectionPool::~ConnectionPool() { shutdown(); }

void ConnectionPool::enqueue(std::function<void()> job) {
  std::unique_lock<std::mutex> lock(mutex_);
  slot_free_.wait(lock, [&] { return jobs_.size() < limit_ || shutting_down_; });
  jobs_.push_back(std::move(job));
  waiting_ = jobs_.size();
  job_ready_.notify_one();
}

void ConnectionPool::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shutting_down_ && workers_.empty()) return;
    shutting_down_ = true;
  }
  job_ready_.notify_all();
  slot_free_.notify_all();
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
}

void ConnectionPool::work() {
  // LibTorch sets a thread up on its first call that asks for the thread count (any parallel
  // op), and that replaces its pthreadpool, whose new worker then spins for some 40 ms on the
  // other core: here at start-up, not during a connection's first requests (8 % of the
  // server's CPU samples at 1 client).
  at::get_num_threads();
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      job_ready_.wait(lock, [&] { return !jobs_.empty() || shutting_down_; });
      if (jobs_.empty()) return;  // shutting down, nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
      waiting_ = jobs_.size();
    }
    slot_free_.notify_one();
    job();
  }
}

}  // namespace fmnist
