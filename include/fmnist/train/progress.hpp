#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace fmnist {

// What the live bar shows of a running epoch.
struct ProgressState {
  std::int64_t batch = 0;  // batches done
  std::int64_t batches = 0;
  double loss = 0;      // running mean
  double accuracy = 0;  // running fraction
  double images_per_second = 0;
  double seconds_left = 0;
};

// One line: bar, batch k/N, running loss and accuracy, images/s, ETA; no colour or escapes.
std::string format_progress(const ProgressState& state);

// A live bar only for a person watching: stderr a terminal that is not TERM=dumb, and info
// messages logged (not --quiet).
bool live_progress_wanted(bool stderr_is_terminal, const char* term, bool logging_info);

// The live bar of one epoch on stderr, redrawn in place at most 10 times a second; inactive
// (every call a no-op) where live_progress_wanted says no, e.g. in a log file or a pipe, which
// get one line per epoch from the logger instead.
class ProgressBar {
 public:
  ProgressBar(std::int64_t batches, std::int64_t images_per_batch);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Whether a redraw is due; asking before computing loss and accuracy keeps the per-batch
  // cost (a device sync for them) off the common path.
  bool due() const;
  void draw(std::int64_t batch, double loss, double accuracy);
  // Removes the bar so that the next log line starts on a clean line.
  void clear();

 private:
  using Clock = std::chrono::steady_clock;
  bool active_;
  bool drawn_ = false;
  std::int64_t batches_;
  std::int64_t images_per_batch_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_draw_ = start_;
};

}  // namespace fmnist
