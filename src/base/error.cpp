#include "fmnist/base/error.hpp"

#include <c10/util/Exception.h>

#include <csignal>
#include <iostream>

namespace fmnist {

Interrupted::Interrupted(const std::string& message, int signal_number)
    : Error(message), signal_number_(signal_number) {}

int Interrupted::exit_code() const {
  return signal_number_ == SIGTERM ? kExitTerminated : kExitInterrupted;
}

std::string first_line(const std::string& message) { return message.substr(0, message.find('\n')); }

void report_error(const std::string& message) {
  std::cerr << "fmnist: error: " << message << std::endl;
}

std::string describe(const std::exception& error) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&error)) {
    return first_line(c10_error->what_without_backtrace());
  }
  return first_line(error.what());
}

}  // namespace fmnist
