#include "fmnist/train/progress.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace fmnist {
namespace {

constexpr int kBarWidth = 24;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

}  // namespace

std::string format_progress(const ProgressState& state) {
  const double done = state.batches > 0 ? static_cast<double>(state.batch) / state.batches : 0;
  const int filled = static_cast<int>(done * kBarWidth);
  const auto eta = static_cast<std::int64_t>(state.seconds_left + 0.5);
  return fmt::format("[{}{}] {}/{}  loss {:.4f} acc {:.2f}%  {:.0f} img/s  ETA {}:{:02}",
                     std::string(filled, '#'), std::string(kBarWidth - filled, '.'), state.batch,
                     state.batches, state.loss, 100 * state.accuracy, state.images_per_second,
                     eta / 60, eta % 60);
}

bool live_progress_wanted(bool stderr_is_terminal, const char* term, bool logging_info) {
  return stderr_is_terminal && logging_info && !(term && std::strcmp(term, "dumb") == 0);
}

ProgressBar::ProgressBar(std::int64_t batches, std::int64_t images_per_batch)
    : active_(live_progress_wanted(::isatty(STDERR_FILENO) == 1, std::getenv("TERM"),
                                   spdlog::should_log(spdlog::level::info))),
      batches_(batches),
      images_per_batch_(images_per_batch) {}

ProgressBar::~ProgressBar() { clear(); }

bool ProgressBar::due() const { return active_ && Clock::now() - last_draw_ >= kRedrawInterval; }

void ProgressBar::draw(std::int64_t batch, double loss, double accuracy) {
  last_draw_ = Clock::now();
  const double seconds = std::chrono::duration<double>(last_draw_ - start_).count();
  ProgressState state{batch, batches_, loss, accuracy, 0, 0};
  state.images_per_second = batch * images_per_batch_ / seconds;
  state.seconds_left = seconds / batch * (batches_ - batch);
  // \r and "erase to end of line" redraw in place; TERM=dumb never gets here.
  std::fprintf(stderr, "\r%s\x1b[K", format_progress(state).c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::clear() {
  if (!drawn_) return;
  std::fputs("\r\x1b[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace fmnist
