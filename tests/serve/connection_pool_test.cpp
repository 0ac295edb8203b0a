#include "fmnist/serve/connection_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace fmnist {
namespace {

TEST(ConnectionPoolTest, AcceptingWaitsWhileWorkersAndWaitingSlotsAreFull) {
  ConnectionPool pool(/*threads=*/1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> first_done{false};
  std::atomic<int> ran{0};
  pool.enqueue([&] {
    released.wait();
    first_done = true;
    ++ran;
  });
  // One worker, one waiting slot: the second job waits (once the worker took the first), and
  // the third cannot be accepted until the first is done and the worker takes the second.
  pool.enqueue([&] { ++ran; });
  std::atomic<bool> third_done_before_release{false};
  std::thread accepting([&] {
    pool.enqueue([&] { ++ran; });
    third_done_before_release = !first_done;
  });
  release.set_value();
  accepting.join();
  pool.shutdown();
  EXPECT_FALSE(third_done_before_release);
  EXPECT_EQ(ran, 3);
}

TEST(ConnectionPoolTest, ShutdownRunsTheWaitingJobs) {
  std::atomic<int> ran{0};
  {
    ConnectionPool pool(/*threads=*/2);
    for (int i = 0; i < 4; ++i) pool.enqueue([&] { ++ran; });
  }
  EXPECT_EQ(ran, 4);
}

}  // namespace
}  // namespace fmnist
