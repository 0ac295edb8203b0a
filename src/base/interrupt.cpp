#include "fmnist/base/interrupt.hpp"

#include <csignal>

namespace fmnist {
namespace {

volatile std::sig_atomic_t g_pending_signal = 0;
struct sigaction g_previous_int {};
struct sigaction g_previous_term {};

extern "C" void record_signal(int signal_number) { g_pending_signal = signal_number; }

}  // namespace

InterruptGuard::InterruptGuard() {
  g_pending_signal = 0;
  struct sigaction action {};
  action.sa_handler = record_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

int InterruptGuard::pending_signal() const { return g_pending_signal; }

}  // namespace fmnist
