#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fmnist {

// httplib's task queue for fmnist serve: `threads` workers, each serving one connection at a
// time, and at most as many accepted connections waiting for one. When both are full the
// accepting thread waits, so further clients wait in the kernel's listen backlog instead of
// piling up as open sockets (httplib's own ThreadPool queues without bound).
class ConnectionPool : public httplib::TaskQueue {
 public:
  explicit ConnectionPool(std::size_t threads);
  ~ConnectionPool() override;

  void enqueue(std::function<void()> job) override;
  void shutdown() override;  // serves the waiting connections, then joins the workers

  // Whether an accepted connection waits for a worker.
  bool has_waiting() const { return waiting_ > 0; }

 private:
  void work();

  const std::size_t limit_;
  std::mutex mutex_;
  std::condition_variable job_ready_, slot_free_;
  std::deque<std::function<void()>> jobs_;
  std::atomic<std::size_t> waiting_{0};  // jobs_.size(), read without the lock
  bool shutting_down_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace fmnist
