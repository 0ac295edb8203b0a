#pragma once

namespace fmnist {

// While alive, SIGINT and SIGTERM only set a flag, so training can finish its batch and save
// a checkpoint; the previous handlers come back on destruction.
class InterruptGuard {
 public:
  InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  ~InterruptGuard();

  // The signal received since construction, or 0.
  int pending_signal() const;
};

}  // namespace fmnist
